/* imp-map.h
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* What a row describes. A simulator's truth file also lists traps: pairs
 * that are not connected but whose signals are related in a way that can
 * look like a connection. */
typedef enum
{
  IMP_MAP_CONNECTION,
  IMP_MAP_TRAP_CROSSTALK,     /* zero-latency coupling of the electrodes */
  IMP_MAP_TRAP_SHARED_INPUT,  /* an unrecorded cell drives both */
  IMP_MAP_TRAP_COMODULATION,  /* both take part in network bursts */
  IMP_MAP_N_KINDS
} ImpMapKind;

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
  /* Only in truth files (IMP_MAP_TRUTH_CSV_HEADER); NAN and
   * IMP_MAP_CONNECTION when read from a plain map. */
  double snr;           /* |mean PSP| × √(presynaptic APs) ÷ SD of the
                           postsynaptic membrane potential */
  ImpMapKind kind;
} ImpMapEntry;

#define IMP_MAP_CSV_HEADER \
  "pre,post,pre_label,post_label,sign,amplitude_mv,latency_ms,p_value,n_pre_aps"
/* The header of a map with quantal parameters: three more columns, after
 * the others so that a reader of the first nine is not disturbed. */
#define IMP_MAP_CSV_QUANTAL_HEADER \
  IMP_MAP_CSV_HEADER ",quantal_mv,quantal_n,release_p"

/* The truth file: the map's columns (with the quantal ones when some row
 * has them), then snr and kind (connection, crosstalk, shared_input,
 * comodulation). Readers of plain maps see only the connections. */
#define IMP_MAP_TRUTH_CSV_HEADER IMP_MAP_CSV_HEADER ",snr,kind"
#define IMP_MAP_TRUTH_QUANTAL_CSV_HEADER \
  IMP_MAP_CSV_QUANTAL_HEADER ",snr,kind"

const char *imp_map_kind_to_string (ImpMapKind kind);

void       imp_map_entry_clear   (ImpMapEntry  *entry);

/* GArray of ImpMapEntry with a clear func set. */
GArray    *imp_map_new           (void);
void       imp_map_append_csv_field (GString    *out,
                                     const char *text);
gboolean   imp_map_write_csv     (GArray       *map,
                                  const char   *path,
                                  GError      **error);
gboolean   imp_map_write_truth_csv (GArray     *map,
                                    const char *path,
                                    GError    **error);
GArray    *imp_map_read_csv      (const char   *path,
                                  GError      **error);
GArray    *imp_map_read_truth_csv (const char  *path,
                                   GError     **error);

/* SNR bands of the score: >= 6, 3 to 6, < 3, unknown (a truth file
 * without SNR). */
typedef enum
{
  IMP_MAP_SNR_HIGH,
  IMP_MAP_SNR_MID,
  IMP_MAP_SNR_LOW,
  IMP_MAP_SNR_UNKNOWN,
  IMP_MAP_N_BANDS
} ImpMapBand;

#define IMP_MAP_SNR_HIGH_MIN 6.0
#define IMP_MAP_SNR_MID_MIN  3.0

/* Scores @found against @truth by (pre, post) pairs. Trap rows of @truth
 * are not connections: finding one is a false positive and counts in
 * traps_called. */
typedef struct
{
  guint  true_positives;
  guint  false_positives;
  guint  false_negatives;
  guint  sign_errors;
  double precision;  /* 1.0 when nothing was found */
  double recall;     /* 1.0 when there is nothing to find */
  /* true connections and those found, by SNR band and by sign (0 E, 1 I) */
  guint  band_total[IMP_MAP_N_BANDS];
  guint  band_found[IMP_MAP_N_BANDS];
  guint  sign_total[2];
  guint  sign_found[2];
  /* trap pairs in @truth, and those found, by kind (index 0 unused) */
  guint  traps_total[IMP_MAP_N_KINDS];
  guint  traps_called[IMP_MAP_N_KINDS];
  guint  n_traps;
  guint  n_traps_called;
} ImpMapScore;

double     imp_map_score_band_recall (const ImpMapScore *score,
                                      ImpMapBand         band);
char      *imp_map_score_to_json     (const ImpMapScore *score);
char      *imp_map_score_to_text     (const ImpMapScore *score);
ImpMapBand imp_map_snr_band          (double             snr);

void       imp_map_score         (GArray       *found,
                                  GArray       *truth,
                                  ImpMapScore  *score);

G_END_DECLS
