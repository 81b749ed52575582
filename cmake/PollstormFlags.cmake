# Warnings and sanitizer lanes, set once for every target.
add_compile_options(-Wall -Wextra -Wshadow -Wnon-virtual-dtor -Wno-unused-parameter)
if(POLLSTORM_WERROR)
  add_compile_options(-Werror)
endif()

if(POLLSTORM_SANITIZER STREQUAL "thread")
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer -g)
  add_link_options(-fsanitize=thread)
elseif(POLLSTORM_SANITIZER STREQUAL "address")
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=undefined
                      -fno-omit-frame-pointer -g)
  add_link_options(-fsanitize=address,undefined)
elseif(POLLSTORM_SANITIZER STREQUAL "undefined")
  add_compile_options(-fsanitize=undefined -fno-sanitize-recover=undefined -g)
  add_link_options(-fsanitize=undefined)
elseif(NOT POLLSTORM_SANITIZER STREQUAL "")
  message(FATAL_ERROR "POLLSTORM_SANITIZER must be empty, thread, address or undefined, not '${POLLSTORM_SANITIZER}'")
endif()

# Fuzz builds: coverage instrumentation everywhere, the engine only in fuzz/.
if(POLLSTORM_FUZZ_ENGINE MATCHES "fuzzer")
  set(_ignorelist ${PROJECT_SOURCE_DIR}/fuzz/coverage_ignorelist.txt)
  # The compiler reads the list, but no build rule depends on it: editing it
  # re-runs CMake (CONFIGURE_DEPENDS) and its hash in the flags rebuilds
  # every object, so the instrumentation always matches the file.
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${_ignorelist})
  file(MD5 ${_ignorelist} _ignorelist_md5)
  add_compile_options(-fsanitize=fuzzer-no-link -fsanitize-coverage-ignorelist=${_ignorelist}
                      -DPOLLSTORM_COVERAGE_IGNORELIST_MD5=${_ignorelist_md5})
  # Every other executable (tests, tools) is instrumented too and needs the
  # coverage callbacks. A sanitizer runtime provides them; without one, link
  # libFuzzer's no-main runtime (fuzz/CMakeLists.txt takes it off the
  # fuzzers, which get the full engine).
  if(POLLSTORM_SANITIZER STREQUAL "")
    execute_process(
      COMMAND ${CMAKE_CXX_COMPILER} -print-file-name=libclang_rt.fuzzer_no_main-${CMAKE_SYSTEM_PROCESSOR}.a
      OUTPUT_VARIABLE POLLSTORM_FUZZ_NO_MAIN OUTPUT_STRIP_TRAILING_WHITESPACE)
    if(NOT EXISTS "${POLLSTORM_FUZZ_NO_MAIN}")
      message(FATAL_ERROR "fuzz build without a sanitizer needs libclang_rt.fuzzer_no_main "
                          "(clang's libFuzzer); ${CMAKE_CXX_COMPILER} does not have it")
    endif()
    link_libraries(${POLLSTORM_FUZZ_NO_MAIN})
  endif()
endif()
