/* imp-map.h
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* One row of a connectivity map, as in MAP.csv and the simulator's truth
 * file: pre,post,pre_label,post_label,sign,amplitude_mv,latency_ms,p_value,n_pre_aps */
typedef struct
{
  guint  pre;
  guint  post;
  char  *pre_label;
  char  *post_label;
  char   sign;          /* 'E' or 'I' */
  double amplitude_mv;  /* mean PSP amplitude, positive for E, negative for I */
  double latency_ms;    /* AP peak to PSP onset */
  double p_value;
  guint  n_pre_aps;
} ImpMapEntry;

#define IMP_MAP_CSV_HEADER \
  "pre,post,pre_label,post_label,sign,amplitude_mv,latency_ms,p_value,n_pre_aps"

void       imp_map_entry_clear   (ImpMapEntry  *entry);

/* GArray of ImpMapEntry with a clear func set. */
GArray    *imp_map_new           (void);
void       imp_map_append_csv_field (GString    *out,
                                     const char *text);
gboolean   imp_map_write_csv     (GArray       *map,
                                  const char   *path,
                                  GError      **error);
GArray    *imp_map_read_csv      (const char   *path,
                                  GError      **error);

/* Scores @found against @truth by (pre, post) pairs. */
typedef struct
{
  guint  true_positives;
  guint  false_positives;
  guint  false_negatives;
  guint  sign_errors;
  double precision;  /* 1.0 when nothing was found */
  double recall;     /* 1.0 when there is nothing to find */
} ImpMapScore;

void       imp_map_score         (GArray       *found,
                                  GArray       *truth,
                                  ImpMapScore  *score);

G_END_DECLS
