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
elseif(NOT POLLSTORM_SANITIZER STREQUAL "")
  message(FATAL_ERROR "POLLSTORM_SANITIZER must be empty, thread or address, not '${POLLSTORM_SANITIZER}'")
endif()

# Fuzz builds: coverage instrumentation everywhere, the engine only in fuzz/.
if(POLLSTORM_FUZZ_ENGINE MATCHES "fuzzer")
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()
