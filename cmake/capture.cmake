# Runs PROGRAM with ARG1..ARG3 and writes its standard output to OUT, then
# gzips it (gzip -9n: no name or time stamp, so builds are reproducible) when
# GZIP is set. Used to write the man pages and completion scripts that ds
# and dsd generate from their own command tables.
#   cmake -DPROGRAM=... -DARG1=... -DOUT=... [-DGZIP=/bin/gzip] -P capture.cmake
set(_args)
foreach(_n 1 2 3)
  if(NOT "${ARG${_n}}" STREQUAL "")
    list(APPEND _args "${ARG${_n}}")
  endif()
endforeach()
get_filename_component(_dir "${OUT}" DIRECTORY)
file(MAKE_DIRECTORY "${_dir}")
execute_process(COMMAND "${PROGRAM}" ${_args} OUTPUT_FILE "${OUT}.tmp" RESULT_VARIABLE _rc)
if(NOT _rc EQUAL 0)
  file(REMOVE "${OUT}.tmp")
  message(FATAL_ERROR "${PROGRAM} ${_args} failed (${_rc})")
endif()
if(GZIP)
  execute_process(COMMAND "${GZIP}" -9nf "${OUT}.tmp" RESULT_VARIABLE _rc)
  if(NOT _rc EQUAL 0)
    message(FATAL_ERROR "gzip ${OUT}.tmp failed (${_rc})")
  endif()
  file(RENAME "${OUT}.tmp.gz" "${OUT}")
else()
  file(RENAME "${OUT}.tmp" "${OUT}")
endif()
