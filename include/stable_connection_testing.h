/*
 * Test hooks of stable-connection. NOT FOR PRODUCTION: a predictable random
 * source makes every key and challenge predictable.
 *
 * Keys and challenges normally come from getrandom(). A test that must replay a
 * recorded session byte for byte installs its own source for each side; the
 * library then draws, in order, the values docs/PROTOCOL.md section 7 lists:
 * client: one private key per new-connection handshake;
 * server: private key then challenge for a new connection, one challenge for an
 * accepted reuse request, nothing for a refused one.
 *
 * Version 2 takes its random bytes from the same sources, 8 bytes from each
 * value drawn (least significant byte first; the unused rest of the last value
 * is dropped):
 * client: its ephemeral private key (32 bytes, 4 values) for every request,
 * new session or resume;
 * server, a new session it answers: the random part of the session id (14
 * bytes, 2 values; drawn again while another session has that id), then the
 * resume secret (32 bytes, 4 values), then its ephemeral private key (4
 * values); a resume it answers: its ephemeral private key (4 values); nothing
 * for a request it refuses.
 * sc_keypair_generate() never reads these sources: its keys always come from
 * the operating system.
 */
#ifndef STABLE_CONNECTION_TESTING_H
#define STABLE_CONNECTION_TESTING_H

#include <stdint.h>

#include "stable_connection_export.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SC_RANDOM_SERVER 0 /* draws made by any connection_pool */
#define SC_RANDOM_CLIENT 1 /* draws made by any connection */

typedef uint64_t (*sc_random_fn)(void *user_data);

/*
 * Process-wide: installs `fn` as the source of the given side's draws, or
 * restores getrandom() when fn is NULL.
 *   SC_OK                    installed (or restored)
 *   SC_ERR_INVALID_ARGUMENT  side is neither SC_RANDOM_SERVER nor SC_RANDOM_CLIENT
 */
SC_EXPORT int sc_testing_set_random(int side, sc_random_fn fn, void *user_data) SC_NOEXCEPT;

#ifdef __cplusplus
}
#endif

#endif
