# Finds libmd (Debian: libmd-dev), whose MD5Transform the library's hash is
# built on, for find_package(md).
#
# Defines the imported target md::md (the library, with its include directory
# as a usage requirement) and md_FOUND, md_INCLUDE_DIR, md_LIBRARY. The cache
# variables md_INCLUDE_DIR and md_LIBRARY can be set to point at a copy
# elsewhere.

find_path(md_INCLUDE_DIR md5.h)
find_library(md_LIBRARY md)
mark_as_advanced(md_INCLUDE_DIR md_LIBRARY)

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(md
  REQUIRED_VARS md_LIBRARY md_INCLUDE_DIR
  REASON_FAILURE_MESSAGE "install libmd's headers and library (Debian: apt-get install libmd-dev)")

if(md_FOUND AND NOT TARGET md::md)
  add_library(md::md UNKNOWN IMPORTED)
  set_target_properties(md::md PROPERTIES
    IMPORTED_LOCATION "${md_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${md_INCLUDE_DIR}")
endif()
