// cross/qemu_exec_shim.cc: lets a guest under qemu-user exec an aarch64 binary.
//
// Under `qemu-aarch64 PROGRAM` a guest's execve() is passed to the host
// kernel. QEMU 7.2 maps "/proc/self/exe" to the guest binary, but the host
// cannot run an aarch64 ELF unless binfmt_misc has a QEMU handler registered
// (not the case here, and we do not rely on it): the exec fails with ENOEXEC.
// Two things in this project exec themselves:
//   - pollstorm-storm: the supervisor runs execv("/proc/self/exe", --worker);
//   - GoogleTest's "threadsafe" death tests: execv(argv[0], ...).
//
// The toolchain's emulator command preloads this library into every guest
// and sets POLLSTORM_QEMU_REEXEC to the QEMU command (space-separated, no
// guest options). execv/execve of an aarch64 ELF then become an execve of that
// QEMU command on the host, with the guest's LD_* variables moved from the
// host environment into -E options (an x86-64 QEMU must not load aarch64
// libraries) and argv[0] kept with -0. Everything else passes through.
//
// Only the exec family members these programs use are interposed (execv,
// execve); glibc's execvp/posix_spawn call the kernel directly and are not
// covered. The code runs in the child between fork/clone and exec, possibly on
// GoogleTest's one-page clone stack: no malloc, small frames, static buffers.
// The library takes LD_PRELOAD out of the guest's environment at start-up (see
// TakePreloadOutOfEnviron) and passes it on explicitly. On a native aarch64
// host nothing preloads it.
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdlib>

extern char** environ;

namespace {

constexpr int kMaxArgs = 8192;
char* g_argv[kMaxArgs];
char* g_envp[kMaxArgs];
char g_cmd[4096];
char g_self[PATH_MAX];
char g_preload[PATH_MAX + 16];  // "LD_PRELOAD=<this library>", taken out of environ
char g_dash_e[] = "-E";
char g_dash_0[] = "-0";
char g_dash_dash[] = "--";

long RawExecve(const char* path, char* const argv[], char* const envp[]) {
  return syscall(SYS_execve, path, argv, envp);
}

bool IsAarch64Elf(const char* path) {
  const int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  unsigned char h[EI_NIDENT + 4];
  const ssize_t n = read(fd, h, sizeof h);
  close(fd);
  if (n != static_cast<ssize_t>(sizeof h) || memcmp(h, ELFMAG, SELFMAG) != 0) return false;
  const unsigned machine = h[EI_NIDENT + 2] | (h[EI_NIDENT + 3] << 8);  // e_machine, LE
  return machine == EM_AARCH64;
}

bool MovedToQemuOption(const char* entry) {
  // LD_* configures the dynamic loader; in the host QEMU process it would be
  // applied to x86-64 QEMU itself. QEMU's -E splits on ',', so an entry with
  // a comma stays in the environment (harmless for LD_LIBRARY_PATH).
  return strncmp(entry, "LD_", 3) == 0 && strchr(entry, ',') == nullptr;
}

int Reexec(const char* path, char* const argv[], char* const envp[]) {
  const char* cmd = getenv("POLLSTORM_QEMU_REEXEC");
  if (cmd == nullptr || *cmd == '\0' || !IsAarch64Elf(path)) return RawExecve(path, argv, envp);
  // /proc/self/exe would name QEMU itself in the host process: use the guest
  // path QEMU reports for it.
  const char* program = path;
  if (strcmp(path, "/proc/self/exe") == 0) {
    const ssize_t n = readlink("/proc/self/exe", g_self, sizeof g_self - 1);
    if (n <= 0) return RawExecve(path, argv, envp);
    g_self[n] = '\0';
    program = g_self;
  }
  if (strlen(cmd) >= sizeof g_cmd) {
    errno = E2BIG;
    return -1;
  }
  strcpy(g_cmd, cmd);
  int a = 0, e = 0;
  for (char* tok = strtok(g_cmd, " "); tok != nullptr && a < kMaxArgs - 8; tok = strtok(nullptr, " ")) {
    g_argv[a++] = tok;
  }
  if (a == 0 || g_argv[0][0] != '/') return RawExecve(path, argv, envp);
  if (argv != nullptr && argv[0] != nullptr) {
    g_argv[a++] = g_dash_0;
    g_argv[a++] = argv[0];
  }
  if (g_preload[0] != '\0') {  // the child is preloaded too (an LD_PRELOAD in envp wins)
    g_argv[a++] = g_dash_e;
    g_argv[a++] = g_preload;
  }
  for (char* const* p = envp; p != nullptr && *p != nullptr; p++) {
    if (MovedToQemuOption(*p)) {
      if (a >= kMaxArgs - 6) break;
      g_argv[a++] = g_dash_e;
      g_argv[a++] = *p;
    } else if (e < kMaxArgs - 1) {
      g_envp[e++] = *p;
    }
  }
  g_envp[e] = nullptr;
  g_argv[a++] = g_dash_dash;
  g_argv[a++] = const_cast<char*>(program);
  for (int i = 1; argv != nullptr && argv[i] != nullptr; i++) {
    if (a >= kMaxArgs - 1) {
      errno = E2BIG;
      return -1;
    }
    g_argv[a++] = argv[i];
  }
  g_argv[a] = nullptr;
  return static_cast<int>(RawExecve(g_argv[0], g_argv, g_envp));
}

// The guest does not keep LD_PRELOAD in its environment: a sanitizer runtime
// spawns host programs (TSan's llvm-symbolizer, an x86-64 binary) with raw
// execve calls that bypass this shim, and the host loader would then complain
// "cannot be preloaded" about this aarch64 library on stderr. Execs that do
// pass through the shim get it back as a QEMU -E option.
__attribute__((constructor)) void TakePreloadOutOfEnviron() {
  const char* p = getenv("LD_PRELOAD");
  if (p == nullptr || getenv("POLLSTORM_QEMU_REEXEC") == nullptr) return;
  if (strlen(p) + sizeof "LD_PRELOAD=" > sizeof g_preload || strchr(p, ',') != nullptr) return;
  strcpy(g_preload, "LD_PRELOAD=");
  strcat(g_preload, p);
  unsetenv("LD_PRELOAD");
}

}  // namespace

extern "C" __attribute__((visibility("default"))) int execve(const char* path, char* const argv[],
                                                             char* const envp[]) noexcept {
  return Reexec(path, argv, envp);
}

extern "C" __attribute__((visibility("default"))) int execv(const char* path, char* const argv[]) noexcept {
  return Reexec(path, argv, environ);
}
