# Installs the built project into a scratch prefix, then checks that outside projects can use
# it: find_package(micronas) for the C++ library and the C ABI, and pkg-config for a C program
# compiled by hand against the shared library.
file(REMOVE_RECURSE "${WORK}")
execute_process(COMMAND "${CMAKE_COMMAND}" --install "${BUILD}" --prefix "${WORK}/prefix"
                RESULT_VARIABLE rc OUTPUT_QUIET)
if(rc)
  message(FATAL_ERROR "cmake --install failed")
endif()

function(run_step name)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(rc)
    message(FATAL_ERROR "consumer ${name} failed:\n${out}\n${err}")
  endif()
  set(step_output "${out}" PARENT_SCOPE)
endfunction()

run_step(configure "${CMAKE_COMMAND}" -S "${SOURCE}" -B "${WORK}/build"
         "-DCMAKE_PREFIX_PATH=${WORK}/prefix")
run_step(build "${CMAKE_COMMAND}" --build "${WORK}/build")
run_step("C++ program" "${WORK}/build/consumer")
run_step("C program (find_package)" "${WORK}/build/consumer_c")

# pkg-config: the flags it gives are all a C compiler needs.
file(GLOB_RECURSE pc_files "${WORK}/prefix/*/micronas.pc")
list(GET pc_files 0 pc_file)
get_filename_component(pc_dir "${pc_file}" DIRECTORY)
set(ENV{PKG_CONFIG_PATH} "${pc_dir}")
run_step(pkg-config pkg-config --cflags --libs micronas)
string(STRIP "${step_output}" flags)
separate_arguments(flags UNIX_COMMAND "${flags}")
run_step("C compile (pkg-config)" cc -std=c99 -Wall -Werror "${SOURCE}/consumer_c.c" ${flags}
         -o "${WORK}/consumer_c_pkgconfig")
list(FILTER flags INCLUDE REGEX "^-L")
string(REGEX REPLACE "^-L" "" libdir "${flags}")
set(ENV{LD_LIBRARY_PATH} "${libdir}")
run_step("C program (pkg-config)" "${WORK}/consumer_c_pkgconfig")
message(STATUS "consumer printed ${step_output}")
