// tests/go_diff: the Go side of the differential test. It runs the scenarios
// of scenarios.txt through Go's own runtime (os.Pipe, the Set*Deadline calls,
// Close: internal/poll over runtime/netpoll) and prints one trace line per
// traced step. tests/go_diff.cc runs the same table through the C++ Fd facade
// of every variant and compares its trace with this one.
//
// Usage: go_diff SCENARIOS [OUT]   (OUT: the trace file; default stdout)
// Exit: 0 ran, 2 bad usage or a bad table line (named), 3 internal error.
// A scenario whose background op never returns is traced as "hang", not an
// exit code: the comparison decides.
package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// step is one line of a scenario; the grammar is in scenarios.txt's header.
type step struct {
	text   string // the line as written, without timing splits (goes in the trace)
	bg     string // bg ID: run op in the background
	join   string // join ID
	op     string // read write fill close rdl wdl dl sleep
	end    string // r or w
	n      int    // bytes, or ms for sleep
	dl     string // past zero far +N
	dlMs   int
	after  int // -1: no split
	before int
	by     int // -1: no guard; else the step must return before by ms (a precondition)
}

type scenario struct {
	name  string
	kind  string // pipe (r reads, w writes) or socketpair (r and w both ways)
	steps []step
}

func usage(msg string) {
	fmt.Fprintln(os.Stderr, "go_diff: "+msg)
	os.Exit(2)
}

func parseSplit(tok string, s *step) bool {
	for _, k := range []string{"after=", "before=", "by="} {
		if strings.HasPrefix(tok, k) {
			v, err := strconv.Atoi(tok[len(k):])
			if err != nil || v < 0 {
				return false
			}
			switch k {
			case "after=":
				s.after = v
			case "before=":
				s.before = v
			default:
				s.by = v
			}
			return true
		}
	}
	return false
}

// parseOp fills s from the op tokens (bg and splits already removed).
func parseOp(f []string, s *step) string {
	if len(f) == 0 {
		return "missing op"
	}
	s.op = f[0]
	switch s.op {
	case "sleep":
		if len(f) != 2 {
			return "sleep takes N (ms)"
		}
		v, err := strconv.Atoi(f[1])
		if err != nil || v < 0 {
			return "sleep takes N (ms)"
		}
		s.n = v
		return ""
	case "read", "write", "fill", "close", "rdl", "wdl", "dl":
	default:
		return "unknown op '" + s.op + "'"
	}
	if len(f) < 2 || (f[1] != "r" && f[1] != "w") {
		return s.op + " needs an end: r or w"
	}
	s.end = f[1]
	switch s.op {
	case "read", "write":
		if len(f) != 3 {
			return s.op + " takes END N"
		}
		v, err := strconv.Atoi(f[2])
		if err != nil || v <= 0 || v > 1<<20 {
			return s.op + " takes END N (1..1048576)"
		}
		s.n = v
	case "fill", "close":
		if len(f) != 2 {
			return s.op + " takes END only"
		}
	default:
		if len(f) != 3 {
			return s.op + " takes END D"
		}
		s.dl = f[2]
		switch {
		case s.dl == "past" || s.dl == "zero" || s.dl == "far":
		case strings.HasPrefix(s.dl, "+") && strings.HasSuffix(s.dl, "ms"):
			v, err := strconv.Atoi(s.dl[1 : len(s.dl)-2])
			if err != nil || v <= 0 {
				return "bad deadline '" + s.dl + "' (past, zero, far or +Nms)"
			}
			s.dlMs = v
		default:
			return "bad deadline '" + s.dl + "' (past, zero, far or +Nms)"
		}
	}
	return ""
}

func parse(path string) []scenario {
	fh, err := os.Open(path)
	if err != nil {
		usage("cannot read " + path + ": " + err.Error())
	}
	defer fh.Close()
	var out []scenario
	var cur *scenario
	bad := func(line int, msg string) { usage(fmt.Sprintf("%s:%d: %s", path, line, msg)) }
	open := map[string]bool{}
	sc := bufio.NewScanner(fh)
	line := 0
	for sc.Scan() {
		line++
		t := sc.Text()
		if i := strings.IndexByte(t, '#'); i >= 0 {
			t = t[:i]
		}
		f := strings.Fields(t)
		if len(f) == 0 {
			continue
		}
		switch {
		case f[0] == "scenario":
			if cur != nil {
				bad(line, "scenario inside scenario "+cur.name)
			}
			if len(f) < 2 || len(f) > 3 || len(f) == 3 && f[2] != "pipe" && f[2] != "socketpair" {
				bad(line, "scenario takes a name and optionally pipe or socketpair")
			}
			for _, o := range out {
				if o.name == f[1] {
					bad(line, "duplicate scenario "+f[1])
				}
			}
			kind := "pipe"
			if len(f) == 3 {
				kind = f[2]
			}
			out = append(out, scenario{name: f[1], kind: kind})
			cur = &out[len(out)-1]
			open = map[string]bool{}
			continue
		case f[0] == "end":
			if cur == nil || len(f) != 1 {
				bad(line, "'end' outside a scenario")
			}
			for id := range open {
				bad(line, "bg "+id+" never joined")
			}
			if len(cur.steps) == 0 {
				bad(line, "empty scenario "+cur.name)
			}
			cur = nil
			continue
		}
		if cur == nil {
			bad(line, "step outside a scenario")
		}
		s := step{after: -1, before: -1, by: -1}
		for len(f) > 0 && parseSplit(f[len(f)-1], &s) {
			f = f[:len(f)-1]
		}
		if len(f) == 0 {
			bad(line, "missing op")
		}
		s.text = strings.Join(f, " ")
		switch f[0] {
		case "join":
			if len(f) != 2 || !open[f[1]] {
				bad(line, "join of an unknown or joined bg id")
			}
			s.join = f[1]
			delete(open, f[1])
		case "bg":
			if len(f) < 3 || open[f[1]] {
				bad(line, "bg takes a fresh ID and an op")
			}
			s.bg = f[1]
			if msg := parseOp(f[2:], &s); msg != "" {
				bad(line, msg)
			}
			if s.op == "sleep" || s.op == "fill" {
				bad(line, "bg of "+s.op)
			}
			open[f[1]] = true
		default:
			if msg := parseOp(f, &s); msg != "" {
				bad(line, msg)
			}
		}
		if (s.after >= 0 || s.before >= 0 || s.by >= 0) && (s.bg != "" || s.op == "sleep" || s.op == "fill") {
			bad(line, "timing splits go on an op or a join")
		}
		cur.steps = append(cur.steps, s)
	}
	if err := sc.Err(); err != nil {
		usage("cannot read " + path + ": " + err.Error())
	}
	if cur != nil {
		bad(line, "scenario "+cur.name+" has no 'end'")
	}
	if len(out) == 0 {
		usage(path + ": no scenario")
	}
	return out
}

// classify gives an op's outcome class as the trace spells it.
func classify(n int, err error, withN bool) string {
	var c string
	var errno syscall.Errno
	switch {
	case err == nil:
		c = "ok"
	case err == io.EOF:
		c = "eof"
	case errors.Is(err, os.ErrDeadlineExceeded):
		c = "timeout"
	case errors.Is(err, os.ErrClosed):
		c = "closed"
	case strings.Contains(err.Error(), "use of closed file"):
		// os.File's Set*Deadline returns internal/poll's ErrFileClosing
		// unwrapped (Go 1.19 os/file_posix.go), not os.ErrClosed: the same
		// condition under a second name.
		c = "closed"
	case errors.As(err, &errno):
		c = "errno=" + strconv.Itoa(int(errno))
	default:
		c = "other(" + err.Error() + ")"
	}
	if withN {
		c += " n=" + strconv.Itoa(n)
	}
	return c
}

func deadline(s *step) time.Time {
	now := time.Now()
	switch s.dl {
	case "zero":
		return time.Time{}
	case "past":
		return now.Add(-time.Second)
	case "far":
		return now.Add(time.Hour)
	}
	return now.Add(time.Duration(s.dlMs) * time.Millisecond)
}

// fill writes to f's descriptor until EAGAIN, without Go's poller waiting.
func fill(f *os.File) {
	rc, err := f.SyscallConn()
	if err != nil {
		fmt.Fprintln(os.Stderr, "go_diff: SyscallConn:", err)
		os.Exit(3)
	}
	buf := make([]byte, 4096)
	var werr error
	err = rc.Write(func(fd uintptr) bool {
		for _, chunk := range []int{4096, 1} {
			for {
				_, e := syscall.Write(int(fd), buf[:chunk])
				if e == syscall.EINTR {
					continue
				}
				if e != nil {
					if e != syscall.EAGAIN {
						werr = e
					}
					break
				}
			}
		}
		return true
	})
	if err != nil {
		werr = err // e.g. a deadline already expired: fill comes before deadlines
	}
	if werr != nil {
		fmt.Fprintln(os.Stderr, "go_diff: fill:", werr)
		os.Exit(3)
	}
}

// do runs one op and returns its outcome class.
func do(s *step, r, w *os.File) string {
	f := r
	if s.end == "w" {
		f = w
	}
	switch s.op {
	case "read":
		buf := make([]byte, s.n)
		n, err := f.Read(buf)
		return classify(n, err, true)
	case "write":
		n, err := f.Write([]byte(strings.Repeat("x", s.n)))
		return classify(n, err, true)
	case "fill":
		fill(f)
		return ""
	case "close":
		return classify(0, f.Close(), false)
	case "rdl":
		return classify(0, f.SetReadDeadline(deadline(s)), false)
	case "wdl":
		return classify(0, f.SetWriteDeadline(deadline(s)), false)
	case "dl":
		return classify(0, f.SetDeadline(deadline(s)), false)
	}
	fmt.Fprintln(os.Stderr, "go_diff: internal: op", s.op)
	os.Exit(3)
	return ""
}

// timing gives the step's timing classes: after= and by= on the scenario's
// clock (a deadline's earliest firing, a precondition), before= on the op's
// own (it returned promptly; load before it started does not count).
func timing(s *step, t, took time.Duration) string {
	out := ""
	if s.by >= 0 && t >= time.Duration(s.by)*time.Millisecond {
		// The scenario's precondition failed: the machine was too slow for
		// it (the comparison calls the scenario inconclusive).
		out += " late(by=" + strconv.Itoa(s.by) + ")"
	}
	if s.after >= 0 {
		if t >= time.Duration(s.after)*time.Millisecond {
			out += " t>=" + strconv.Itoa(s.after)
		} else {
			out += " t<" + strconv.Itoa(s.after)
		}
	}
	if s.before >= 0 {
		if took < time.Duration(s.before)*time.Millisecond {
			out += " took<" + strconv.Itoa(s.before)
		} else {
			out += " took>=" + strconv.Itoa(s.before)
		}
	}
	return out
}

// joinLimit: how long an op may take before it is traced as hung (as on the
// port's side); the slowest legitimate op returns within a second.
const joinLimit = 8 * time.Second

type result struct {
	outcome string
	at      time.Duration // when the op returned, since the scenario began
	took    time.Duration // how long the op ran
}

// launch runs an op on its own goroutine (foreground ops too), so an op that
// never returns is traced as "hang" instead of hanging the run.
func launch(s *step, r, w *os.File, t0 time.Time) chan result {
	ch := make(chan result, 1)
	go func() {
		start := time.Now()
		o := do(s, r, w)
		ch <- result{o, time.Since(t0), time.Since(start)}
	}()
	return ch
}

// endpoints gives the scenario's two ends. A socketpair goes through
// os.NewFile, which makes an already non-blocking descriptor pollable.
func endpoints(kind string) (*os.File, *os.File) {
	if kind == "pipe" {
		r, w, err := os.Pipe()
		if err != nil {
			fmt.Fprintln(os.Stderr, "go_diff: os.Pipe:", err)
			os.Exit(3)
		}
		return r, w
	}
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		fmt.Fprintln(os.Stderr, "go_diff: socketpair:", err)
		os.Exit(3)
	}
	return os.NewFile(uintptr(fds[0]), "r"), os.NewFile(uintptr(fds[1]), "w")
}

// run executes one scenario and returns its trace lines.
func run(sc *scenario) []string {
	r, w := endpoints(sc.kind)
	var lines []string
	hung := false
	bg := map[string]chan result{}
	bgText := map[string]string{}
	t0 := time.Now()
	for i := 0; i < len(sc.steps) && !hung; i++ {
		s := &sc.steps[i]
		prefix := fmt.Sprintf("%s#%d %s =>", sc.name, i+1, s.text)
		switch {
		case s.op == "sleep" && s.bg == "":
			time.Sleep(time.Duration(s.n) * time.Millisecond)
		case s.bg != "":
			bg[s.bg] = launch(s, r, w, t0)
			bgText[s.bg] = strings.Join(strings.Fields(s.text)[2:], " ") + ": "
		default:
			ch, what := bg[s.join], prefix+" "+bgText[s.join]
			if s.join == "" {
				ch, what = launch(s, r, w, t0), prefix+" "
			}
			select {
			case res := <-ch:
				if res.outcome != "" {
					lines = append(lines, what+res.outcome+timing(s, res.at, res.took))
				}
			case <-time.After(joinLimit):
				// The rest of the scenario would queue behind the stuck
				// op: stop here (the comparison reports the steps not traced).
				lines = append(lines, what+"hang")
				hung = true
			}
		}
	}
	// Close both ends, unless an op still runs: Close would wait for it.
	if !hung {
		r.Close()
		w.Close()
	}
	return lines
}

func main() {
	args := os.Args[1:]
	if len(args) >= 1 && (args[0] == "--help" || args[0] == "-h") {
		fmt.Println("usage: go_diff SCENARIOS [OUT]: run the scenarios on Go's runtime, print the trace")
		return
	}
	if len(args) < 1 || len(args) > 2 {
		usage("usage: go_diff SCENARIOS [OUT]")
	}
	scs := parse(args[0])
	out := os.Stdout
	if len(args) == 2 {
		f, err := os.Create(args[1])
		if err != nil {
			usage("cannot write " + args[1] + ": " + err.Error())
		}
		defer f.Close()
		out = f
	}
	// The scenarios run concurrently (each has its own pipe), so the whole
	// table takes about as long as its longest scenario.
	traces := make([][]string, len(scs))
	var wg sync.WaitGroup
	for i := range scs {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			traces[i] = run(&scs[i])
		}(i)
	}
	wg.Wait()
	bw := bufio.NewWriter(out)
	fmt.Fprintf(bw, "# go_diff trace: %s, %d scenarios\n", runtime.Version(), len(scs))
	for _, t := range traces {
		for _, l := range t {
			fmt.Fprintln(bw, l)
		}
	}
	if err := bw.Flush(); err != nil {
		fmt.Fprintln(os.Stderr, "go_diff: write:", err)
		os.Exit(3)
	}
}
