/* `ohm serve --mqtt URI` (libmosquitto, loaded on first use): the cache's
 * devices published to an MQTT broker as DESIGN.md "Gateways" says, with
 * Home Assistant device discovery (mqtt_ha.c). Internal to shell/serve. */
#ifndef OHM_SHELL_SERVE_MQTT_H
#define OHM_SHELL_SERVE_MQTT_H

#include "../serve.h"

/* A growing text buffer for payloads; on ENOMEM it stays short and
 * `bad` is set. */
struct mq_buf {
  char *s;
  size_t len, cap;
  int bad;
};
void mq_buf_printf(struct mq_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* s as a JSON string literal (quotes included). */
void mq_buf_json(struct mq_buf *b, const char *s);

/* The topic-safe form of a device or variable name ('/', '+', '#' and
 * spaces become '_'). */
void mq_topic_name(const char *in, char *out, size_t n);

/* Home Assistant device discovery: the one config of device s (a
 * snapshot with its map and values) whose topics start with prefix/dev.
 * Only variables the device has are components. Writable numbers are
 * number entities with PREFIX/DEV/VAR/set; commands that are not
 * dangerous, or are in allowed (" cmd cmd "), are buttons on
 * PREFIX/DEV/cmd. */
void mq_ha_config(struct mq_buf *b, const char *prefix, const char *dev,
                  const char *allowed, const struct sv_snap *s);

#endif
