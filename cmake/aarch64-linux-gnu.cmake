# Toolchain file: clang-14 for aarch64-linux-gnu (Debian 12).
#
# On an x86-64 host this is a cross build: headers and libraries come from
# Debian's cross sysroot (/usr/aarch64-linux-gnu: libc6-dev-arm64-cross,
# libstdc++-12-dev-arm64-cross) and from the arm64 multiarch packages
# (libgtest-dev:arm64, libbenchmark-dev:arm64, libclang-rt-14-dev:arm64 in
# /usr/lib/aarch64-linux-gnu), and every test runs through qemu-aarch64 via
# CMAKE_CROSSCOMPILING_EMULATOR, so plain `ctest` needs no special cases.
# On an aarch64 host the same file builds natively and sets no emulator.
#
# Cache variables (set by the presets):
#   POLLSTORM_AARCH64_ATOMICS  llsc: -march=armv8-a -mno-outline-atomics
#                                    (inline ldaxr/stlxr loops only)
#                              lse:  -march=armv8.1-a (inline casal, swpal,
#                                    ldaddal, ...)
#                              The default, armv8-a with outline atomics,
#                              picks LSE or LL/SC at run time and is refused:
#                              an objdump check (cross/) could prove nothing.
#   POLLSTORM_SANITIZER        thread: QEMU is started under `setarch -R`
#                              (see below).
# Measured facts behind every choice: ../shared/reference/toolchain-facts.md.

set(_triple aarch64-linux-gnu)
set(_sysroot /usr/aarch64-linux-gnu)

if(NOT CMAKE_HOST_SYSTEM_PROCESSOR MATCHES "^(aarch64|arm64)$")
  # Setting CMAKE_SYSTEM_NAME is what makes this a cross build (try_run off,
  # emulator used). On an aarch64 host we leave it unset: a native build.
  set(CMAKE_SYSTEM_NAME Linux)
  set(CMAKE_SYSTEM_PROCESSOR aarch64)
endif()

set(CMAKE_CXX_COMPILER clang++-14)
set(CMAKE_CXX_COMPILER_TARGET ${_triple})
set(CMAKE_LIBRARY_ARCHITECTURE ${_triple})

# try_compile projects re-read this file; pass the atomics choice on.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES POLLSTORM_AARCH64_ATOMICS POLLSTORM_SANITIZER)

if(POLLSTORM_AARCH64_ATOMICS STREQUAL "llsc")
  set(_march "-march=armv8-a -mno-outline-atomics")
elseif(POLLSTORM_AARCH64_ATOMICS STREQUAL "lse")
  set(_march "-march=armv8.1-a")
else()
  message(FATAL_ERROR "aarch64 toolchain: set POLLSTORM_AARCH64_ATOMICS to llsc or lse, not "
                      "'${POLLSTORM_AARCH64_ATOMICS}' (use the aarch64-* presets)")
endif()
set(CMAKE_CXX_FLAGS_INIT "${_march}")

# Look for libraries and packages in the arm64 locations only, never in the
# host's x86-64 ones; programs (objdump, python) are host programs.
set(CMAKE_FIND_ROOT_PATH ${_sysroot} /)
set(CMAKE_IGNORE_PREFIX_PATH /usr/lib/x86_64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

if(NOT CMAKE_HOST_SYSTEM_PROCESSOR MATCHES "^(aarch64|arm64)$")
  find_program(POLLSTORM_QEMU qemu-aarch64 NO_CMAKE_FIND_ROOT_PATH)
  if(NOT POLLSTORM_QEMU)
    message(FATAL_ERROR "aarch64 toolchain: qemu-aarch64 not found (Debian: qemu-user; "
                        "scripts/cross.sh installs it)")
  endif()
  # -L: the guest's /lib/ld-linux-aarch64.so.1 comes from the cross sysroot.
  # -E LD_LIBRARY_PATH: without it, once any :arm64 package is installed, the
  #   cross glibc and the multiarch glibc get mixed and the first
  #   pthread_create spins forever (measured).
  # -E LD_PRELOAD + POLLSTORM_QEMU_REEXEC: a guest that execs an aarch64 binary
  #   (the storm's supervisor re-executing /proc/self/exe, GoogleTest's
  #   threadsafe death tests re-executing argv[0]) gets ENOEXEC from the host
  #   kernel, as binfmt_misc is not registered here. The shim (cross/) routes
  #   such execs back through this same QEMU command. It is built in the tree,
  #   so the path is known now; it exists once the build has run.
  # Never QEMU's own -R (reserved VA): it breaks the TSan runtime.
  set(_qemu_base ${POLLSTORM_QEMU} -L ${_sysroot})
  string(JOIN " " _reexec ${_qemu_base})
  set(CMAKE_CROSSCOMPILING_EMULATOR
      ${_qemu_base}
      -E LD_LIBRARY_PATH=${_sysroot}/lib
      -E LD_PRELOAD=${CMAKE_BINARY_DIR}/cross/libpollstorm-qemu-exec.so
      "-E" "POLLSTORM_QEMU_REEXEC=${_reexec}")
  if(POLLSTORM_SANITIZER STREQUAL "thread")
    # The aarch64 TSan runtime re-execs itself when ASLR is on, which fails
    # under QEMU with ENOEXEC (errno 8); with randomisation off it does not.
    # The personality is inherited across exec, so re-executed workers get it too.
    find_program(POLLSTORM_SETARCH setarch NO_CMAKE_FIND_ROOT_PATH REQUIRED)
    list(PREPEND CMAKE_CROSSCOMPILING_EMULATOR ${POLLSTORM_SETARCH} -R)
  endif()
endif()
