/*
 * stableconn-keygen: makes the static key pair of a stable-connection server
 * for protocol version 2.
 *
 *   stableconn-keygen [--force] FILE   writes a new private key to FILE (mode
 *                                      0600) and prints its public key
 *   stableconn-keygen --public FILE    prints the public key of the private
 *                                      key in FILE
 *
 * The private key file holds the key as 64 hexadecimal digits and a newline;
 * the server loads it (sc_pool_set_static_key()). The public key is printed as
 * hexadecimal and as a C array, for the clients (sc_client_open_v2()).
 * Exit status: 0 done, 1 failed (the message says why), 2 bad usage.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "stable_connection.h"

#define HEX_SIZE (2 * SC_KEY_SIZE)

static const char *program = "stableconn-keygen";

static void usage(FILE *to) {
  fprintf(to,
          "usage: %s [--force] FILE    write a new private key to FILE (mode 0600)\n"
          "                                         and print its public key\n"
          "       %s --public FILE     print the public key of the private key in FILE\n"
          "       %s --help | --version\n"
          "\n"
          "FILE holds the private key as %d hexadecimal digits; give it to the server\n"
          "(sc_pool_set_static_key) and keep it secret. The public key is printed as\n"
          "hexadecimal and as a C array, for the clients (sc_client_open_v2).\n"
          "--force replaces an existing FILE.\n",
          program, program, program, HEX_SIZE);
}

/* Overwrites a secret in a way the compiler may not remove. */
static void wipe(void *p, size_t n) {
  volatile unsigned char *b = (volatile unsigned char *)p;
  while (n-- > 0) *b++ = 0;
}

static void to_hex(const uint8_t *key, char out[HEX_SIZE + 1]) {
  static const char digits[] = "0123456789abcdef";
  int k;
  for (k = 0; k < SC_KEY_SIZE; ++k) {
    out[2 * k] = digits[key[k] >> 4];
    out[2 * k + 1] = digits[key[k] & 15];
  }
  out[HEX_SIZE] = '\0';
}

static int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

static void print_public(const uint8_t *pub) {
  char hex[HEX_SIZE + 1];
  int k;
  to_hex(pub, hex);
  printf("public key: %s\n\n", hex);
  printf("static const unsigned char server_public_key[%d] = {", SC_KEY_SIZE);
  for (k = 0; k < SC_KEY_SIZE; ++k)
    printf("%s0x%02x%s", k % 8 == 0 ? "\n    " : "", pub[k], k + 1 < SC_KEY_SIZE ? "," : "");
  printf("\n};\n");
}

static int fail_code(const char *what, int code) {
  fprintf(stderr, "%s: %s: %s\n", program, what, sc_strerror(code));
  if (code == SC_ERR_NOT_SUPPORTED)
    fprintf(stderr, "%s: this libstableconn was built without protocol version 2 (SC_WITH_V2=OFF)\n", program);
  return 1;
}

/* Writes all of buf, or returns -1 with errno set. */
static int write_all(int fd, const char *buf, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, buf, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    buf += w;
    n -= (size_t)w;
  }
  return 0;
}

static int generate(const char *path, int force) {
  uint8_t priv[SC_KEY_SIZE], pub[SC_KEY_SIZE];
  char line[HEX_SIZE + 2];
  int fd, rc = sc_keypair_generate(priv, pub);
  if (rc != SC_OK) return fail_code("cannot make a key pair", rc);
  to_hex(priv, line);
  wipe(priv, sizeof priv);
  line[HEX_SIZE] = '\n';
  line[HEX_SIZE + 1] = '\0';
  if (force && unlink(path) != 0 && errno != ENOENT) {
    fprintf(stderr, "%s: cannot replace %s: %s\n", program, path, strerror(errno));
    wipe(line, sizeof line);
    return 1;
  }
  /* O_EXCL: never writes through an existing file or a link planted there. */
  fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0600);
  if (fd < 0) {
    if (errno == EEXIST)
      fprintf(stderr, "%s: %s exists; remove it, choose another name, or use --force\n", program, path);
    else
      fprintf(stderr, "%s: cannot create %s: %s\n", program, path, strerror(errno));
    wipe(line, sizeof line);
    return 1;
  }
  /* 0600 whatever the umask took away. */
  if (fchmod(fd, 0600) != 0 || write_all(fd, line, HEX_SIZE + 1) != 0 || fsync(fd) != 0) {
    fprintf(stderr, "%s: cannot write %s: %s\n", program, path, strerror(errno));
    wipe(line, sizeof line);
    close(fd);
    unlink(path);
    return 1;
  }
  wipe(line, sizeof line);
  if (close(fd) != 0) {
    fprintf(stderr, "%s: cannot write %s: %s\n", program, path, strerror(errno));
    unlink(path);
    return 1;
  }
  fprintf(stderr, "%s: private key written to %s (mode 0600)\n", program, path);
  print_public(pub);
  return 0;
}

/* Reads a private key file: 64 hex digits, then optional white space. */
static int read_private(const char *path, uint8_t priv[SC_KEY_SIZE]) {
  char buf[HEX_SIZE + 64];
  size_t n = 0, k;
  FILE *f = fopen(path, "r");
  int ok = 1;
  if (!f) {
    fprintf(stderr, "%s: cannot open %s: %s\n", program, path, strerror(errno));
    return 0;
  }
  n = fread(buf, 1, sizeof buf, f);
  fclose(f);
  if (n < HEX_SIZE) ok = 0;
  for (k = 0; ok && k < HEX_SIZE; ++k)
    if (hex_value(buf[k]) < 0) ok = 0;
  for (k = HEX_SIZE; ok && k < n; ++k)
    if (buf[k] != '\n' && buf[k] != '\r' && buf[k] != ' ' && buf[k] != '\t') ok = 0;
  if (ok && n == sizeof buf) ok = 0;
  if (!ok) {
    fprintf(stderr, "%s: %s is not a private key file (%d hexadecimal digits)\n", program, path, HEX_SIZE);
    wipe(buf, sizeof buf);
    return 0;
  }
  for (k = 0; k < SC_KEY_SIZE; ++k) priv[k] = (uint8_t)(hex_value(buf[2 * k]) * 16 + hex_value(buf[2 * k + 1]));
  wipe(buf, sizeof buf);
  return 1;
}

static int show_public(const char *path) {
  uint8_t priv[SC_KEY_SIZE], pub[SC_KEY_SIZE];
  int rc;
  if (!read_private(path, priv)) return 1;
  rc = sc_public_key(priv, pub);
  wipe(priv, sizeof priv);
  if (rc != SC_OK) return fail_code("cannot derive the public key", rc);
  print_public(pub);
  return 0;
}

int main(int argc, char **argv) {
  int force = 0, pub = 0, i;
  const char *path = NULL;
  for (i = 1; i < argc; ++i) {
    const char *a = argv[i];
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      usage(stdout);
      return 0;
    } else if (!strcmp(a, "--version")) {
      printf("%s %s\n", program, sc_version());
      return 0;
    } else if (!strcmp(a, "--force")) {
      force = 1;
    } else if (!strcmp(a, "--public")) {
      pub = 1;
    } else if (a[0] == '-' && a[1] != '\0') {
      fprintf(stderr, "%s: unknown option %s\n", program, a);
      usage(stderr);
      return 2;
    } else if (path) {
      fprintf(stderr, "%s: one FILE only (got %s and %s)\n", program, path, a);
      usage(stderr);
      return 2;
    } else {
      path = a;
    }
  }
  if (!path) {
    fprintf(stderr, "%s: no FILE given\n", program);
    usage(stderr);
    return 2;
  }
  if (pub && force) {
    fprintf(stderr, "%s: --public reads FILE, --force is for writing it\n", program);
    return 2;
  }
  return pub ? show_public(path) : generate(path, force);
}
