# msfaq_soname(VAR LIBRARY): VAR becomes the soname of the shared library
# LIBRARY (readelf -d), or stays empty when it has none (a static .a) or
# readelf is missing.  The libraries msfaq opens when first needed
# (libstemmer, libcurl) are opened by that name.
find_program(MSFAQ_READELF NAMES ${CMAKE_READELF} readelf)
function(msfaq_soname var library)
  set(soname "")
  if(MSFAQ_READELF AND library)
    execute_process(COMMAND ${CMAKE_COMMAND} -E env LC_ALL=C
                            ${MSFAQ_READELF} -d ${library}
      OUTPUT_VARIABLE dynamic ERROR_QUIET)
    if(dynamic MATCHES "Library soname: \\[([^]]+)\\]")
      set(soname ${CMAKE_MATCH_1})
    endif()
  endif()
  set(${var} "${soname}" PARENT_SCOPE)
endfunction()
