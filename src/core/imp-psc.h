/* imp-psc.h
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

#include "imp-analysis.h"
#include "imp-progress.h"
#include "imp-recording.h"

G_BEGIN_DECLS

#define IMP_PSC_TRANSIENT_Z        5.0
#define IMP_PSC_TRANSIENT_FRACTION 0.5

/* The waveform test of one ordered pair (docs/analysis.md, "Waveform
 * test"): the postsynaptic membrane potential, with its own APs and AHPs
 * removed and deconvolved towards synaptic current, summed over a short
 * window at each delay after the presynaptic APs, against the local
 * (jitter) baseline of each trial. */
typedef struct
{
  guint    pre;
  guint    post;
  double   p;             /* two-sided, corrected over the delays scanned */
  double   z;             /* the strongest window's t statistic, signed */
  double   delay_ms;      /* start of that window after the AP peak */
  double   charge_mv;     /* its mean sum, crosstalk removed (about the
                             PSP amplitude) */
  double   crosstalk;     /* the pre channel's AP seen on post, as a
                             fraction (zero-latency coupling) */
  double   z_lead;        /* the same-sign t statistic of the strongest
                             window before the AP (isolated APs) */
  gboolean common_input;  /* z_lead at least common_input_z */
  double   zero_mv;       /* what is left at zero latency after the
                             crosstalk is removed: the sum of d from 1 ms
                             before the AP to latency_min_ms */
  double   z_zero;        /* its t statistic */
  gboolean transient;     /* |z_zero| at least IMP_PSC_TRANSIENT_Z and
                             |zero_mv| at least IMP_PSC_TRANSIENT_FRACTION
                             of |charge_mv|: a zero-latency transient
                             (stimulus artefact, capacitive coupling) not
                             explained as crosstalk */
  guint    n_trials;
} ImpPscTest;

typedef void (*ImpPscFunc) (const ImpPscTest *tests,
                            guint             n_tests,
                            gpointer          user_data);

gboolean imp_psc_run        (ImpRecording             *recording,
                             const ImpAnalysisParams  *params,
                             GArray                  **ap_times,
                             const gboolean           *is_pre,
                             const gboolean           *is_post,
                             ImpPscFunc                func,
                             gpointer                  func_data,
                             ImpProgressFunc           progress,
                             gpointer                  user_data,
                             GCancellable             *cancellable,
                             GError                  **error);
GArray *imp_psc_test_pairs (ImpRecording             *recording,
                            const ImpAnalysisParams  *params,
                            GArray                  **ap_times,
                            const gboolean           *is_pre,
                            const gboolean           *is_post,
                            ImpProgressFunc           progress,
                            gpointer                  user_data,
                            GCancellable             *cancellable,
                            GError                  **error);

G_END_DECLS
