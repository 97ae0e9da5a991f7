/* The frame engine's inside (devices/frame_engine.c, frame_pack.c): one
 * pack's decoded replies and how they become the map's values. */
#ifndef OHM_DEVICES_FRAME_ENG_H
#define OHM_DEVICES_FRAME_ENG_H

#include <stdint.h>

#include "device.h"
#include "frame.h"
#include "frame_map.h"

#define FP_CELLS 32
#define FP_TEMPS 16
#define FP_TEXT 40

struct fpack {
  int adr, present, rc;
  char err[200]; /* why absent: "pack 4: no answer within 0.5 s" */
  int ncells, ntemps;
  double cell[FP_CELLS], temp[FP_TEMPS];            /* V, degC */
  double current, voltage, remaining, full, design; /* A, V, Ah */
  int cycles, has_design;
  int has_alarms, nstatus;
  uint8_t cell_st[FP_CELLS], temp_st[FP_TEMPS];
  uint8_t status[FRAME_STATUS_MAX];
  char serial[FP_TEXT], firmware[FP_TEXT];
};

/* One request and its reply (RTN checked), with the map's retries. */
int fe_xfer(struct dev *d, int pack, int cid2, const uint8_t *info,
            size_t ninfo, struct frm *rep, struct ohm_error *e);

/* "1,2,4" or "1-3": addresses into list (256 max); count or OHM_EURI. */
int fp_parse_list(const char *s, int *list, struct ohm_error *e);
/* A text reply (serial, firmware) into out (FP_TEXT); "" on failure. */
void fp_read_text(struct dev *d, int adr, int cid2, char *out);
/* The analog (0x42) and alarm (0x44) replies; OHM_EPROTO if short. */
int fp_parse_analog(const struct dev_frame *f, const struct frm *r,
                    struct fpack *p, struct ohm_error *e);
int fp_parse_alarms(const struct dev_frame *f, const struct frm *r,
                    struct fpack *p, struct ohm_error *e);
/* Every frame var of m from the packs read (n of them); with explicit, a
 * pack that did not answer is an error on its vars, else just absent. */
void fp_fill(const struct dev_map *m, const struct fpack *packs, int n,
             int explicit, struct dev_value *vals);

#endif
