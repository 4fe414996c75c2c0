/* imp-kinetics.h
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <math.h>

#include <glib.h>

G_BEGIN_DECLS

/* A PSP fitted to a spike-triggered average (docs/analysis.md, "Onset,
 * rise and decay"): a straight baseline plus a double exponential that
 * starts at the onset. Times in ms from the presynaptic AP's peak. */
typedef struct
{
  double onset_ms;      /* NAN: no onset in the range searched */
  double rise_ms;       /* 20-80 % of the fitted PSP */
  double decay_ms;      /* from its peak to half of it */
  double amplitude;     /* the fitted PSP's peak, signed, in x's unit */
  double tau_rise_ms;
  double tau_decay_ms;
  double baseline;      /* the baseline at the AP's peak, x's unit */
  double slope_per_ms;  /* and its slope */
} ImpPspFit;

/* No fit: every field NAN. */
#define IMP_PSP_FIT_NONE \
  ((ImpPspFit) { NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN })

gboolean imp_psp_fit            (const float *x,
                                 gint64       len,
                                 gint64       pre_len,
                                 double       fs,
                                 double       sign,
                                 double       onset_min_ms,
                                 double       onset_max_ms,
                                 ImpPspFit   *fit);

double   imp_psp_fit_psp        (const ImpPspFit *fit,
                                 double           t_ms);
double   imp_psp_fit_value      (const ImpPspFit *fit,
                                 double           t_ms);
void     imp_psp_fit_sample     (const ImpPspFit *fit,
                                 double           fs,
                                 gint64           n,
                                 double          *out);

void     imp_psp_kernel_times   (double       tau_rise_ms,
                                 double       tau_decay_ms,
                                 double      *rise_ms,
                                 double      *decay_ms);

G_END_DECLS
