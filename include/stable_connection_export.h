/*
 * SC_EXPORT: the mark of the functions libstableconn.so exports.
 *
 * The library is compiled with hidden visibility, so that only the functions
 * marked SC_EXPORT leave the shared library. The mark depends on who reads
 * this header:
 *
 *   compiling the shared library  SC_BUILDING_LIBRARY       visibility("default")
 *   compiling the static library  SC_BUILDING_LIBRARY and   nothing: the functions
 *                                 SC_STATIC                 keep the hidden default
 *   a program or library using    (SC_STATIC with the       nothing
 *   either library                 static one, optional)
 *
 * The build sets these itself: SC_BUILDING_LIBRARY privately on the library's
 * objects, and SC_STATIC on the static library's target (CMake passes it on to
 * whatever links stableconn::stableconn_static). A program never defines
 * SC_BUILDING_LIBRARY. Defining SC_EXPORT beforehand overrides all of this.
 *
 * SC_NOEXCEPT: no function of the extension API throws. A C++ program sees
 * them declared noexcept (C++11 and later); in C it is nothing.
 */
#ifndef STABLE_CONNECTION_EXPORT_H
#define STABLE_CONNECTION_EXPORT_H

#if !defined(SC_EXPORT)
#if defined(SC_BUILDING_LIBRARY) && !defined(SC_STATIC) && (defined(__GNUC__) || defined(__clang__))
#define SC_EXPORT __attribute__((visibility("default")))
#else
#define SC_EXPORT
#endif
#endif

#if !defined(SC_NOEXCEPT)
#if defined(__cplusplus) && __cplusplus >= 201103L
#define SC_NOEXCEPT noexcept
#else
#define SC_NOEXCEPT
#endif
#endif

#endif
