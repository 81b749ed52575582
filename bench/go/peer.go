// Command peer runs Go's side of pollstorm's benchmarks through Go's own
// netpoller: the pipe ping-pong of bench/pingpong_bench.cc, the read-deadline
// re-arm of bench/hotpath_bench.cc and the 100 µs deadline lateness of
// bench/deadline_bench.cc. os.Pipe files are non-blocking and registered with
// the netpoller, so a Read that finds the pipe empty parks its goroutine in
// pollDesc, exactly the code pollstorm ports. It writes Google-Benchmark-shaped
// JSON, so scripts/bench_report.py sets these figures against the C++ ones of
// the same run.
//
// Flags carry Google Benchmark's names, so scripts/pollstorm passes the same:
//
//	--benchmark_repetitions=N    repetitions of each benchmark (default 1)
//	--benchmark_min_time=S       seconds per repetition (default 0.5; "0.5s" too)
//	--benchmark_filter=REGEX     only matching names ("-REGEX": all but those)
//	--benchmark_out=FILE         write the JSON there (stdout gets a table)
//	--benchmark_out_format=json  the only format
//
// Other --benchmark_* flags are ignored with a note; anything else is a usage
// error. Exit: 0 fine, 2 usage, 3 a benchmark failed.
//
// Placement: the same-core figures (placement:0) run in a child process whose
// every thread is on CPU 0 (Go then sets GOMAXPROCS to 1, as on a one-CPU
// machine); the unpinned ones (placement:2) in a child with the mask it
// inherits. Go cannot pin one goroutine to a core without runtime.LockOSThread,
// which changes the wake path (a locked goroutine is handed back to its own
// thread), so there is no cross-core (placement:1) figure.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"
)

const deadline = 100 * time.Microsecond

// A benchmark: fn runs n iterations and times them with m.
type bench struct {
	name  string
	child string // "pinned" (placement:0) or "unpinned"
	iters int    // fixed iteration count; 0: grow until min_time
	items bool   // report items_per_second (one item per iteration)
	fn    func(n int, m *meter) map[string]float64
}

var benches = []bench{
	{name: "BM_GoPipePingPong/placement:0", child: "pinned", items: true, fn: pipePingPong},
	{name: "BM_GoPipePingPong/placement:2", child: "unpinned", items: true, fn: pipePingPong},
	{name: "BM_GoDeadlineModify", child: "unpinned", fn: deadlineModify},
	{name: "BM_GoLateness", child: "unpinned", iters: 2000, fn: lateness},
}

// meter: wall time and process CPU time (every thread of the process)
// between start and stop.
type meter struct {
	wall0, cpu0 time.Duration
	wall, cpu   time.Duration
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		fail("getrusage: %v", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

var epoch = time.Now()

func (m *meter) start() { m.cpu0 = processCPU(); m.wall0 = time.Since(epoch) }
func (m *meter) stop()  { m.wall = time.Since(epoch) - m.wall0; m.cpu = processCPU() - m.cpu0 }

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "go peer: "+format+"\n", args...)
	os.Exit(3)
}

func usage(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "go peer: "+format+"\n", args...)
	os.Exit(2)
}

func pipe() (r, w *os.File) {
	r, w, err := os.Pipe()
	if err != nil {
		fail("pipe: %v", err)
	}
	return r, w
}

// pipePingPong: two goroutines, two pipes; one byte each way per iteration.
func pipePingPong(n int, m *meter) map[string]float64 {
	r1, w1 := pipe()
	r2, w2 := pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		b := make([]byte, 1)
		for {
			if k, err := r1.Read(b); k != 1 || err != nil || b[0] != 'p' {
				return
			}
			if _, err := w2.Write(b); err != nil {
				fail("partner write: %v", err)
			}
		}
	}()
	b := []byte{'p'}
	m.start()
	for i := 0; i < n; i++ {
		if _, err := w1.Write(b); err != nil {
			fail("write: %v", err)
		}
		if k, err := r2.Read(b); k != 1 || err != nil {
			fail("read: %d, %v", k, err)
		}
	}
	m.stop()
	if _, err := w1.Write([]byte{'q'}); err != nil {
		fail("write: %v", err)
	}
	<-done
	for _, f := range []*os.File{r1, w1, r2, w2} {
		f.Close()
	}
	return nil
}

// deadlineModify: push a pending read deadline forward, as a server does
// before every read (internal/poll setDeadlineImpl -> pollSetDeadline, which
// modifies the armed timer).
func deadlineModify(n int, m *meter) map[string]float64 {
	r, w := pipe()
	base := time.Now().Add(time.Hour)
	m.start()
	for i := 0; i < n; i++ {
		if err := r.SetReadDeadline(base.Add(time.Duration(i))); err != nil {
			fail("SetReadDeadline: %v", err)
		}
	}
	m.stop()
	r.Close()
	w.Close()
	return nil
}

// lateness: a 100 µs read deadline on an empty pipe; how long past the
// deadline does the Read return ErrDeadlineExceeded?
func lateness(n int, m *meter) map[string]float64 {
	r, w := pipe()
	late := make([]int64, 0, n)
	b := make([]byte, 1)
	m.start()
	for i := 0; i < n; i++ {
		start := time.Now()
		if err := r.SetReadDeadline(start.Add(deadline)); err != nil {
			fail("SetReadDeadline: %v", err)
		}
		_, err := r.Read(b)
		late = append(late, int64(time.Since(start)-deadline))
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			fail("read did not time out: %v", err)
		}
	}
	m.stop()
	r.Close()
	w.Close()
	sort.Slice(late, func(i, j int) bool { return late[i] < late[j] })
	// The same order statistics as deadline_bench.cc's Report.
	return map[string]float64{
		"late_median_ns": float64(late[len(late)/2]),
		"late_p99_ns":    float64(late[len(late)*99/100]),
	}
}

// run: one repetition. Like Google Benchmark, grow the iteration count until
// a run lasts min_time, and report that run.
func run(b bench, minTime float64) (int, meter, map[string]float64) {
	n := 1
	if b.iters > 0 {
		n = b.iters
	}
	for {
		var m meter
		counters := b.fn(n, &m)
		secs := m.wall.Seconds()
		if b.iters > 0 || secs >= minTime || n >= 1e9 {
			return n, m, counters
		}
		mult := minTime * 1.4 / math.Max(secs, 1e-9)
		if secs/minTime <= 0.1 {
			mult = math.Min(mult, 10)
		}
		next := int(mult * float64(n))
		if next <= n {
			next = n + 1
		}
		if next > 1e9 {
			next = 1e9
		}
		n = next
	}
}

type options struct {
	reps      int
	minTime   float64
	filter    *regexp.Regexp
	negate    bool
	out       string
	child     string
	passThrus []string // what a child gets
}

func parseArgs(args []string) options {
	o := options{reps: 1, minTime: 0.5}
	for _, a := range args {
		k, v, hasValue := strings.Cut(a, "=")
		k = "--" + strings.TrimLeft(k, "-")
		if !hasValue && k != "--help" {
			usage("'%s' needs a value (--name=value)", a)
		}
		switch k {
		case "--help":
			fmt.Println(strings.TrimSpace(helpText))
			os.Exit(0)
		case "--benchmark_repetitions":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				usage("--benchmark_repetitions takes a positive number, not '%s'", v)
			}
			o.reps = n
			o.passThrus = append(o.passThrus, a)
		case "--benchmark_min_time":
			s, err := strconv.ParseFloat(strings.TrimSuffix(v, "s"), 64)
			if err != nil || s <= 0 {
				usage("--benchmark_min_time takes seconds, not '%s'", v)
			}
			o.minTime = s
			o.passThrus = append(o.passThrus, a)
		case "--benchmark_filter":
			o.negate = strings.HasPrefix(v, "-")
			re, err := regexp.Compile(strings.TrimPrefix(v, "-"))
			if err != nil {
				usage("--benchmark_filter: bad regex '%s': %v", v, err)
			}
			o.filter = re
			o.passThrus = append(o.passThrus, a)
		case "--benchmark_out":
			o.out = v
		case "--benchmark_out_format":
			if v != "json" {
				usage("--benchmark_out_format: only json, not '%s'", v)
			}
		case "--child":
			if v != "pinned" && v != "unpinned" {
				usage("--child is pinned or unpinned, not '%s'", v)
			}
			o.child = v
		default:
			if strings.HasPrefix(k, "--benchmark_") {
				fmt.Fprintf(os.Stderr, "go peer: ignoring %s (no Go equivalent)\n", a)
				continue
			}
			usage("unknown argument '%s' (try --help)", a)
		}
	}
	return o
}

const helpText = `
Usage: peer [--benchmark_repetitions=N] [--benchmark_min_time=S]
            [--benchmark_filter=REGEX] [--benchmark_out=FILE]
            [--benchmark_out_format=json]
Go's netpoll side of pollstorm's benchmarks (see the top of bench/go/peer.go).`

func (o options) selected(b bench) bool {
	if o.filter == nil {
		return true
	}
	return o.filter.MatchString(b.name) != o.negate
}

// allowedCPUs: how many CPUs this thread may run on.
func allowedCPUs() int {
	var mask [16]uint64
	_, _, e := syscall.RawSyscall(syscall.SYS_SCHED_GETAFFINITY, 0, unsafe.Sizeof(mask),
		uintptr(unsafe.Pointer(&mask)))
	if e != 0 {
		fail("sched_getaffinity: %v", e)
	}
	n := 0
	for _, w := range mask {
		for ; w != 0; w &= w - 1 {
			n++
		}
	}
	return n
}

// childMain: run this child's benchmarks and print their rows as JSON.
func childMain(o options) {
	if o.child == "pinned" && allowedCPUs() != 1 {
		fail("the pinned child may run on %d CPUs, not 1", allowedCPUs())
	}
	label := fmt.Sprintf("GOMAXPROCS=%d", runtime.GOMAXPROCS(0))
	var rows []map[string]interface{}
	for family, b := range benches {
		if b.child != o.child || !o.selected(b) {
			continue
		}
		for rep := 0; rep < o.reps; rep++ {
			n, m, counters := run(b, o.minTime)
			row := map[string]interface{}{
				"name": b.name, "run_name": b.name, "run_type": "iteration",
				"family_index": family, "per_family_instance_index": 0,
				"repetitions": o.reps, "repetition_index": rep, "threads": 1,
				"iterations": n, "time_unit": "ns", "label": label,
				"real_time": float64(m.wall.Nanoseconds()) / float64(n),
				"cpu_time":  float64(m.cpu.Nanoseconds()) / float64(n),
			}
			if b.items {
				row["items_per_second"] = float64(n) / m.wall.Seconds()
			}
			for k, v := range counters {
				row[k] = v
			}
			rows = append(rows, row)
		}
	}
	if err := json.NewEncoder(os.Stdout).Encode(rows); err != nil {
		fail("writing rows: %v", err)
	}
}

// setAffinity pins the calling thread to one CPU.
func setAffinity(cpu int) error {
	var mask [16]uint64
	mask[cpu/64] |= 1 << (cpu % 64)
	_, _, e := syscall.RawSyscall(syscall.SYS_SCHED_SETAFFINITY, 0, unsafe.Sizeof(mask),
		uintptr(unsafe.Pointer(&mask)))
	if e != 0 {
		return e
	}
	return nil
}

// runChild runs this program as a child and returns its rows. A pinned child
// is started from a thread pinned to CPU 0, so every thread it ever has
// inherits that mask.
func runChild(o options, child string) []map[string]interface{} {
	self, err := os.Executable()
	if err != nil {
		fail("os.Executable: %v", err)
	}
	cmd := exec.Command(self, append([]string{"--child=" + child}, o.passThrus...)...)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = os.Stderr
	started := make(chan error)
	go func() {
		if child == "pinned" {
			// Never unlocked: the thread exits with this goroutine, mask and all.
			runtime.LockOSThread()
			if err := setAffinity(0); err != nil {
				started <- fmt.Errorf("sched_setaffinity: %v", err)
				return
			}
		}
		started <- cmd.Start()
	}()
	if err := <-started; err != nil {
		fail("starting the %s child: %v", child, err)
	}
	if err := cmd.Wait(); err != nil {
		fail("the %s child failed: %v", child, err)
	}
	var rows []map[string]interface{}
	if err := json.Unmarshal(out.Bytes(), &rows); err != nil {
		fail("the %s child wrote bad JSON: %v", child, err)
	}
	return rows
}

func printTable(rows []map[string]interface{}) {
	fmt.Printf("%-40s %14s %14s %12s\n", "Benchmark", "Time", "CPU", "Iterations")
	for _, r := range rows {
		line := fmt.Sprintf("%-40s %11.0f ns %11.0f ns %12.0f", r["name"], r["real_time"],
			r["cpu_time"], r["iterations"])
		for _, k := range []string{"late_median_ns", "late_p99_ns"} {
			if v, ok := r[k]; ok {
				line += fmt.Sprintf(" %s=%.0f", k, v)
			}
		}
		fmt.Println(line + " " + r["label"].(string))
	}
}

func main() {
	o := parseArgs(os.Args[1:])
	if o.child != "" {
		childMain(o)
		return
	}
	var rows []map[string]interface{}
	for _, child := range []string{"pinned", "unpinned"} {
		want := false
		for _, b := range benches {
			want = want || (b.child == child && o.selected(b))
		}
		if want {
			rows = append(rows, runChild(o, child)...)
		}
	}
	if len(rows) == 0 {
		// Like Google Benchmark: nothing to run is not an error. No file either.
		fmt.Fprintln(os.Stderr, "go peer: no benchmark matches the filter")
		return
	}
	printTable(rows)
	if o.out == "" {
		return
	}
	host, _ := os.Hostname()
	self, _ := os.Executable()
	doc := map[string]interface{}{
		"context": map[string]interface{}{
			"date": time.Now().Format(time.RFC3339), "host_name": host, "executable": self,
			"num_cpus": runtime.NumCPU(), "go_version": runtime.Version(),
			"library": "pollstorm bench/go/peer.go (Go netpoll)",
		},
		"benchmarks": rows,
	}
	data, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		fail("encoding JSON: %v", err)
	}
	if err := os.WriteFile(o.out, append(data, '\n'), 0o644); err != nil {
		usage("cannot write %s: %v", o.out, err)
	}
}
