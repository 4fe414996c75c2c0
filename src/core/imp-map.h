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
 * file: pre,post,pre_label,post_label,sign,amplitude_mv,latency_ms,p_value,n_pre_aps
 * and, in maps where some row has them, quantal_mv,quantal_n,release_p */
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
  /* The quantal parameters (quantal size, release sites, release
   * probability); quantal_n 0 when not known, and then the CSV fields are
   * empty. */
  double quantal_mv;
  guint  quantal_n;
  double release_p;
} ImpMapEntry;

#define IMP_MAP_CSV_HEADER \
  "pre,post,pre_label,post_label,sign,amplitude_mv,latency_ms,p_value,n_pre_aps"
/* The header of a map with quantal parameters: three more columns, after
 * the others so that a reader of the first nine is not disturbed. */
#define IMP_MAP_CSV_QUANTAL_HEADER \
  IMP_MAP_CSV_HEADER ",quantal_mv,quantal_n,release_p"

void       imp_map_entry_clear   (ImpMapEntry  *entry);

/* GArray of ImpMapEntry with a clear func set. */
GArray    *imp_map_new           (void);
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
