/* URI parser: see uri.h for the accepted shapes. */
#include "uri.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int hexval(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = tolower(c);
  return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Percent-decode s[0..n) into a new string; NULL + e on a bad escape. */
static char *decode(const char *s, size_t n, const char *what,
                    struct ohm_error *e) {
  char *out = malloc(n + 1), *o = out;
  if (!out) {
    ohm_error_set(e, OHM_ENOMEM, "out of memory");
    return NULL;
  }
  for (size_t i = 0; i < n; i++) {
    if (s[i] != '%') {
      *o++ = s[i];
      continue;
    }
    int hi = i + 1 < n ? hexval((unsigned char)s[i + 1]) : -1;
    int lo = i + 2 < n ? hexval((unsigned char)s[i + 2]) : -1;
    if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
      free(out);
      ohm_error_set(e, OHM_EURI, "bad percent-escape in %s", what);
      return NULL;
    }
    *o++ = (char)(hi * 16 + lo);
    i += 2;
  }
  *o = '\0';
  return out;
}

static int parse_scheme(const char *s, const char **rest, struct ohm_uri *u,
                        struct ohm_error *e) {
  const char *p = s;
  if (!isalpha((unsigned char)*p))
    return ohm_error_set(e, OHM_EURI, "missing scheme (want scheme://...)");
  while (isalnum((unsigned char)*p) || *p == '+' || *p == '-' || *p == '.')
    p++;
  if (*p != ':') return ohm_error_set(e, OHM_EURI, "missing ':' after scheme");
  if (!(u->scheme = strndup(s, (size_t)(p - s))))
    return ohm_error_set(e, OHM_ENOMEM, "out of memory");
  for (char *c = u->scheme; *c; c++)
    *c = (char)tolower((unsigned char)*c);
  *rest = p + 1;
  return 0;
}

static int parse_port(const char *p, size_t n, struct ohm_uri *u,
                      struct ohm_error *e) {
  long v = 0;
  if (n == 0) return ohm_error_set(e, OHM_EURI, "empty port after ':'");
  for (size_t i = 0; i < n; i++) {
    if (!isdigit((unsigned char)p[i]))
      return ohm_error_set(e, OHM_EURI, "port '%.*s' is not a number", (int)n,
                           p);
    v = v * 10 + (p[i] - '0');
    if (v > 65535)
      return ohm_error_set(e, OHM_EURI, "port %.*s out of range (1-65535)",
                           (int)n, p);
  }
  if (v == 0)
    return ohm_error_set(e, OHM_EURI, "port 0 out of range (1-65535)");
  u->port = (int)v;
  return 0;
}

static int parse_userinfo(const char *s, size_t n, struct ohm_uri *u,
                          struct ohm_error *e) {
  const char *colon = memchr(s, ':', n);
  size_t un = colon ? (size_t)(colon - s) : n;
  if (!(u->user = decode(s, un, "user name", e))) return e ? e->code : OHM_EURI;
  if (colon && !(u->password = decode(colon + 1, n - un - 1, "password", e)))
    return e ? e->code : OHM_EURI;
  return 0;
}

static int parse_host(const char *s, size_t n, struct ohm_uri *u,
                      struct ohm_error *e) {
  const char *portp = NULL;
  size_t hn = n;
  if (n && s[0] == '[') {
    const char *close = memchr(s, ']', n);
    if (!close) return ohm_error_set(e, OHM_EURI, "unterminated '[' in host");
    const char *zone = memchr(s, '%', (size_t)(close - s));
    for (const char *c = s + 1; c < close; c++)
      if (zone && c > zone ? !isalnum((unsigned char)*c) && !strchr("-._~%", *c)
                           : !isxdigit((unsigned char)*c) && *c != ':' &&
                                 *c != '.' && c != zone)
        return ohm_error_set(e, OHM_EURI, "bad IPv6 literal '%.*s'",
                             (int)(close - s + 1), s);
    if (close == s + 1)
      return ohm_error_set(e, OHM_EURI, "empty IPv6 literal '[]'");
    /* decoded: a zone id is written %25, as in [fe80::1%25eth0] */
    if (!(u->host = decode(s + 1, (size_t)(close - s - 1), "host", e)))
      return e ? e->code : OHM_EURI;
    if (close + 1 < s + n) {
      if (close[1] != ':')
        return ohm_error_set(e, OHM_EURI, "junk after ']' in host");
      portp = close + 2;
    }
  } else {
    const char *colon = memchr(s, ':', n);
    if (colon && memchr(colon + 1, ':', (size_t)(s + n - colon - 1)))
      return ohm_error_set(e, OHM_EURI,
                           "IPv6 address needs brackets, as in [::1]:502");
    if (colon) {
      hn = (size_t)(colon - s);
      portp = colon + 1;
    }
    for (size_t i = 0; i < hn; i++)
      if (s[i] == '[' || s[i] == ']' || isspace((unsigned char)s[i]))
        return ohm_error_set(e, OHM_EURI, "bad character in host '%.*s'",
                             (int)hn, s);
    if (!(u->host = decode(s, hn, "host", e))) return e ? e->code : OHM_EURI;
  }
  if (portp) return parse_port(portp, (size_t)(s + n - portp), u, e);
  return 0;
}

/* A password typed with a raw '/' ("user:pa/ss@host") ends the authority
 * early, and its start would pass for host:port. If the authority s[0..n)
 * has no '@', a ':' not followed by a port, and an '@' comes before the
 * query: that '@' (the last one), else NULL. */
static const char *stray_at(const char *s, size_t n) {
  const char *colon = NULL, *at = NULL;
  size_t q = strcspn(s, "?#");
  if (memchr(s, '@', n)) return NULL;
  for (size_t i = 0; i < n; i++)
    if (s[i] == ':' && !memchr(s, ']', n)) colon = s + i;
  if (!colon) return NULL;
  size_t pn = (size_t)(s + n - colon - 1);
  if (pn && strspn(colon + 1, "0123456789") >= pn) return NULL; /* port */
  for (size_t i = n; i < q; i++)
    if (s[i] == '@') at = s + i;
  return at;
}

/* authority = [userinfo@]host[:port], ends at '/', '?' or '#'. */
static int parse_authority(const char *s, const char **rest, struct ohm_uri *u,
                           struct ohm_error *e) {
  size_t n = strcspn(s, "/?#");
  const char *at = NULL;
  int rc;
  if (stray_at(s, n)) /* never echo it: it holds part of a password */
    return ohm_error_set(e, OHM_EURI,
                         "a '/' in the user info must be "
                         "written %%2F");
  for (size_t i = 0; i < n; i++)
    if (s[i] == '@')
      at = s + i; /* the last '@': passwords may hold a raw '@' */
  if (at && (rc = parse_userinfo(s, (size_t)(at - s), u, e)) < 0) return rc;
  const char *h = at ? at + 1 : s;
  if ((rc = parse_host(h, (size_t)(s + n - h), u, e)) < 0) return rc;
  *rest = s + n;
  return 0;
}

static int add_param(struct ohm_uri *u, const char *s, size_t n,
                     struct ohm_error *e) {
  const char *eq = memchr(s, '=', n);
  size_t kn = eq ? (size_t)(eq - s) : n;
  struct ohm_kv *q = realloc(u->query, (u->nquery + 1) * sizeof *q);
  if (!q) return ohm_error_set(e, OHM_ENOMEM, "out of memory");
  u->query = q;
  q = &u->query[u->nquery];
  if (kn == 0)
    return ohm_error_set(e, OHM_EURI, "empty parameter name in query");
  if (!(q->key = decode(s, kn, "query", e))) return e ? e->code : OHM_EURI;
  if (!(q->val =
            decode(eq ? eq + 1 : s + n, eq ? n - kn - 1 : 0, "query", e))) {
    free(q->key);
    return e ? e->code : OHM_EURI;
  }
  u->nquery++;
  return 0;
}

static int parse_query(const char *s, struct ohm_uri *u, struct ohm_error *e) {
  while (*s && *s != '#') {
    size_t n = strcspn(s, "&#");
    int rc;
    if (n && (rc = add_param(u, s, n, e)) < 0) return rc;
    s += n;
    if (*s == '&') s++;
  }
  return 0;
}

static int parse(const char *s, struct ohm_uri *u, struct ohm_error *e) {
  const char *p = NULL;
  int rc;
  for (const char *c = s; *c; c++)
    if ((unsigned char)*c < 0x20 || *c == ' ' || *c == 0x7f)
      return ohm_error_set(e, OHM_EURI, "control character or space in URI");
  if ((rc = parse_scheme(s, &p, u, e)) < 0) return rc;
  if (p[0] == '/' && p[1] == '/') {
    if ((rc = parse_authority(p + 2, &p, u, e)) < 0) return rc;
    if (u->host && !*u->host && p[0] != '/')
      return ohm_error_set(e, OHM_EURI, "missing host");
  }
  size_t n = strcspn(p, "?#");
  if (!(u->path = decode(p, n, "path", e))) return e ? e->code : OHM_EURI;
  if (!u->host && !*u->path)
    return ohm_error_set(e, OHM_EURI, "nothing after '%s:'", u->scheme);
  if (p[n] == '?') return parse_query(p + n + 1, u, e);
  return 0;
}

int ohm_uri_parse(const char *s, struct ohm_uri *u, struct ohm_error *e) {
  int rc;
  memset(u, 0, sizeof *u);
  u->port = -1;
  if (!s || !*s) return ohm_error_set(e, OHM_EURI, "empty URI");
  if ((rc = parse(s, u, e)) < 0) ohm_uri_free(u);
  return rc;
}

void ohm_uri_free(struct ohm_uri *u) {
  free(u->scheme);
  free(u->user);
  if (u->password) {
    memset(u->password, 0, strlen(u->password));
    free(u->password);
  }
  free(u->host);
  free(u->path);
  for (size_t i = 0; i < u->nquery; i++) {
    free(u->query[i].key);
    free(u->query[i].val);
  }
  free(u->query);
  memset(u, 0, sizeof *u);
  u->port = -1;
}

static int dup_opt(char **dst, const char *src) {
  *dst = NULL;
  return !src || (*dst = strdup(src)) ? 0 : -1;
}

int ohm_uri_copy(struct ohm_uri *dst, const struct ohm_uri *src) {
  memset(dst, 0, sizeof *dst);
  dst->port = src->port;
  if (dup_opt(&dst->scheme, src->scheme) || dup_opt(&dst->user, src->user) ||
      dup_opt(&dst->password, src->password) ||
      dup_opt(&dst->host, src->host) || dup_opt(&dst->path, src->path))
    goto fail;
  if (src->nquery && !(dst->query = calloc(src->nquery, sizeof *dst->query)))
    goto fail;
  for (size_t i = 0; i < src->nquery; i++, dst->nquery++)
    if (dup_opt(&dst->query[i].key, src->query[i].key) ||
        dup_opt(&dst->query[i].val, src->query[i].val)) {
      dst->nquery++;
      goto fail;
    }
  return 0;
fail:
  ohm_uri_free(dst);
  return OHM_ENOMEM;
}

const char *ohm_uri_param(const struct ohm_uri *u, const char *key) {
  for (size_t i = u->nquery; i-- > 0;) /* the last one wins */
    if (strcmp(u->query[i].key, key) == 0) return u->query[i].val;
  return NULL;
}

int ohm_uri_param_long(const struct ohm_uri *u, const char *key, long def,
                       long min, long max, long *out, struct ohm_error *e) {
  const char *v = ohm_uri_param(u, key);
  char *end;
  long n;
  *out = def;
  if (!v) return 0;
  errno = 0;
  n = strtol(v, &end, 10);
  if (!*v || *end || errno)
    return ohm_error_set(e, OHM_EURI, "%s=%s is not a number", key, v);
  if (n < min || n > max)
    return ohm_error_set(e, OHM_EURI, "%s=%ld out of range (%ld-%ld)", key, n,
                         min, max);
  *out = n;
  return 0;
}

int ohm_secret_key(const char *k, size_t n) {
  static const char *const words[] = {"pass", "secret", "community", "token"};
  for (size_t i = 0; i < n; i++)
    for (size_t w = 0; w < sizeof words / sizeof *words; w++) {
      size_t l = strlen(words[w]);
      if (n - i >= l && strncasecmp(k + i, words[w], l) == 0) return 1;
    }
  return 0;
}

/* Copy the query q (after '?', up to '#' or the end) to o, values of
 * secret keys replaced by "***"; returns the new end of o. */
static char *redact_query(const char *q, const char **rest, char *o) {
  while (*q && *q != '#') {
    size_t n = strcspn(q, "&#");
    const char *eq = memchr(q, '=', n);
    if (eq && ohm_secret_key(q, (size_t)(eq - q))) {
      memcpy(o, q, (size_t)(eq + 1 - q));
      o += eq + 1 - q;
      memcpy(o, "***", 3);
      o += 3;
    } else {
      memcpy(o, q, n);
      o += n;
    }
    q += n;
    if (*q == '&') *o++ = *q++;
  }
  *rest = q;
  return o;
}

/* An snmp:// URI of version 1 or 2c (no version=3 in its query): its user
 * info is the community, a secret like a password (DESIGN.md "Security"). */
static int snmp_community(const char *s, const char *auth) {
  const char *q = strchr(s, '?');
  if (auth != s + 7 || strncasecmp(s, "snmp", 4) != 0) return 0;
  for (; q && *q && *q != '#'; q += strcspn(q + 1, "&#") + 1)
    if (strncmp(q + 1, "version=3", 9) == 0 && strchr("&#", q[10]))
      return 0; /* v3: the user name is no secret */
  return 1;
}

char *ohm_uri_redact(const char *s) {
  const char *auth = strstr(s, "://"), *p = s, *at = NULL, *colon = NULL;
  char *out = malloc(4 * strlen(s) + 4), *o = out; /* "***" per byte, max */
  if (!out) return NULL;
  if (auth && auth < s + strcspn(s, "?#")) { /* not inside the query */
    const char *end;
    auth += 3;
    end = auth + strcspn(auth, "/?#");
    for (const char *c = auth; c < end; c++)
      if (*c == '@') at = c;
    if (!at) at = stray_at(auth, (size_t)(end - auth)); /* "u:pa/ss@h" */
    colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
  }
  if (colon) { /* user:password@ -> user:***@ */
    memcpy(o, s, (size_t)(colon + 1 - s));
    o += colon + 1 - s;
    memcpy(o, "***", 3);
    o += 3;
    p = at;
  } else if (at && snmp_community(s, auth)) { /* community@ -> ***@ */
    memcpy(o, s, (size_t)(auth - s));
    o += auth - s;
    memcpy(o, "***", 3);
    o += 3;
    p = at;
  }
  size_t n = strcspn(p, "?#");
  memcpy(o, p, n);
  o += n;
  p += n;
  if (*p == '?') {
    *o++ = *p++;
    o = redact_query(p, &p, o);
  }
  strcpy(o, p);
  return out;
}
