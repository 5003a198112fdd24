# install_unit.cmake - run by "cmake --install" (and so by CPack): writes
# deploy/msfaq-serve.service into the systemd unit directory with
# ExecStart naming the installed msfaq-serve.  The prefix is known only
# now (--prefix, DESTDIR, CPack's /usr), so the unit is made here and not
# at build time.  Set by the caller: MSFAQ_UNIT_SOURCE, MSFAQ_UNIT_DIR and
# MSFAQ_UNIT_BINDIR (each relative to the prefix, or absolute).
foreach(var MSFAQ_UNIT_DIR MSFAQ_UNIT_BINDIR)
  if(IS_ABSOLUTE "${${var}}")
    set(${var}_FULL "${${var}}")
  else()
    set(${var}_FULL "${CMAKE_INSTALL_PREFIX}/${${var}}")
  endif()
endforeach()

file(READ "${MSFAQ_UNIT_SOURCE}" unit)
string(REGEX REPLACE "ExecStart=[^ \n]*/msfaq-serve"
  "ExecStart=${MSFAQ_UNIT_BINDIR_FULL}/msfaq-serve" unit "${unit}")
string(FIND "${unit}" "ExecStart=${MSFAQ_UNIT_BINDIR_FULL}/msfaq-serve "
  found)
if(found EQUAL -1)
  message(FATAL_ERROR "${MSFAQ_UNIT_SOURCE}: no ExecStart=.../msfaq-serve "
    "line to point at ${MSFAQ_UNIT_BINDIR_FULL}/msfaq-serve")
endif()

set(dest "$ENV{DESTDIR}${MSFAQ_UNIT_DIR_FULL}/msfaq-serve.service")
message(STATUS "Installing: ${dest}")
file(MAKE_DIRECTORY "$ENV{DESTDIR}${MSFAQ_UNIT_DIR_FULL}")
file(WRITE "${dest}" "${unit}")
file(CHMOD "${dest}" PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ
  WORLD_READ)
list(APPEND CMAKE_INSTALL_MANIFEST_FILES "${dest}")   # install_manifest.txt
