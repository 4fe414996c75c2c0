/* imp-quantal.h
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* The largest number of release sites (mixture components beyond the
 * failures) a fit can try. */
#define IMP_QUANTAL_MAX_SITES 20

/* Parameters of the quantal fit, each with its unit and default (see
 * docs/analysis.md, "Quantal fit"). */
typedef struct
{
  guint   n_max;        /* largest number of release sites tried, 1 to
                           IMP_QUANTAL_MAX_SITES, default 10 */
  guint   min_trials;   /* fewer finite amplitudes are refused, at least
                           20, default 50 */
  guint   n_bootstrap;  /* parametric bootstrap replicates for the
                           intervals, 0 (no intervals) to 10000,
                           default 100 */
  guint64 seed;         /* bootstrap seed, default 1 */
} ImpQuantalParams;

/* Components of the unconstrained mixture, at most. */
#define IMP_QUANTAL_MIXTURE_MAX 4

typedef enum
{
  IMP_QUANTAL_NOT_FITTED,      /* no fit was made */
  IMP_QUANTAL_QUANTA,          /* quanta claimed */
  IMP_QUANTAL_TOO_FEW_TRIALS,  /* fewer finite amplitudes than min_trials */
  IMP_QUANTAL_NO_SPREAD,       /* the amplitudes are (nearly) all equal */
  IMP_QUANTAL_UNIMODAL,        /* BIC does not prefer quanta to one
                                  Gaussian by IMP_QUANTAL_BIC_MARGIN */
  IMP_QUANTAL_NOT_EVEN,        /* BIC prefers an unconstrained mixture:
                                  peaks, but not evenly spaced */
  IMP_QUANTAL_FEW_PEAKS,       /* fewer than three peaks hold 5 trials */
  IMP_QUANTAL_UNRESOLVED,      /* peaks closer than the sum of their SDs */
  IMP_QUANTAL_AMBIGUOUS,       /* only high peaks, whose spacing fits
                                  another number of sites as well */
  IMP_QUANTAL_NOT_SIGNIFICANT  /* not fitted: the candidate is not a
                                  significant connection */
} ImpQuantalVerdict;

/* How much lower the binomial model's BIC must be than the single
 * Gaussian's ("very strong" evidence on Kass and Raftery's scale). */
#define IMP_QUANTAL_BIC_MARGIN 10.0

typedef enum
{
  IMP_QUANTAL_MODEL_NONE,
  IMP_QUANTAL_MODEL_GAUSSIAN,  /* one Gaussian: no quanta */
  IMP_QUANTAL_MODEL_BINOMIAL,  /* peaks at k·q, weights binomial(n, p) */
  IMP_QUANTAL_MODEL_MIXTURE    /* Gaussians with free means, SDs, weights */
} ImpQuantalModel;

/* A fit of one connection's per-trial amplitudes. Values in mV are
 * magnitudes: the amplitudes were multiplied by @sign (-1 for an
 * inhibitory connection) before fitting, so peak k lies at sign·k·q_mv in
 * the recorded amplitudes. */
typedef struct
{
  ImpQuantalVerdict verdict;
  ImpQuantalModel   model;        /* the model with the lowest BIC */
  int      sign;                  /* +1 or -1 */
  guint    n_trials;              /* amplitudes given */
  guint    n_used;                /* of them finite, and fitted */
  gboolean sigma0_known;          /* sigma0_mv given, not fitted */
  /* The binomial fit at its best n (n is 0 when none was made); a claim
   * only when verdict is IMP_QUANTAL_QUANTA. Intervals (95 %) are NAN
   * unless quanta are claimed. */
  guint    n;                     /* release sites (highest peak) */
  guint    n_lo, n_hi;            /* orders within 3.84 BIC of the best;
                                     n_hi == n_max: no upper bound found */
  guint    n_max;                 /* the largest order tried */
  double   q_mv, q_lo_mv, q_hi_mv;/* quantal size */
  double   p, p_lo, p_hi;         /* release probability */
  double   sigma0_mv;             /* SD of the failures */
  double   sigma_q_mv;            /* added SD per quantum: the SD of peak
                                     k is sqrt(sigma0² + k·sigma_q²) */
  double   weights[IMP_QUANTAL_MAX_SITES + 1]; /* of peaks 0..n */
  guint    n_bootstrap;           /* replicates in the intervals */
  /* the single Gaussian */
  double   mean_mv, sd_mv;
  /* the unconstrained mixture at its best number of components */
  guint    n_mixture;
  double   mixture_mean_mv[IMP_QUANTAL_MIXTURE_MAX];
  double   mixture_sd_mv[IMP_QUANTAL_MIXTURE_MAX];
  double   mixture_weight[IMP_QUANTAL_MIXTURE_MAX];
  /* BIC of the three models (lower is better) */
  double   bic_gaussian;
  double   bic_binomial;
  double   bic_mixture;
} ImpQuantalFit;

/* Whole models for imp_quantal_fit_density() */
#define IMP_QUANTAL_DENSITY_BINOMIAL (-1)
#define IMP_QUANTAL_DENSITY_GAUSSIAN (-2)
#define IMP_QUANTAL_DENSITY_MIXTURE  (-3)

void        imp_quantal_params_init_default (ImpQuantalParams        *params);
gboolean    imp_quantal_params_validate     (const ImpQuantalParams  *params,
                                             GError                 **error);

void        imp_quantal_fit                 (const float             *amplitudes,
                                             guint                    n_amplitudes,
                                             int                      sign,
                                             double                   sigma0_mv,
                                             const ImpQuantalParams  *params,
                                             guint64                  stream,
                                             ImpQuantalFit           *fit);
void        imp_quantal_fit_skip            (const float             *amplitudes,
                                             guint                    n_amplitudes,
                                             int                      sign,
                                             ImpQuantalVerdict        verdict,
                                             ImpQuantalFit           *fit);

const char *imp_quantal_verdict_to_string   (ImpQuantalVerdict        verdict);
const char *imp_quantal_model_to_string     (ImpQuantalModel          model);
char       *imp_quantal_fit_describe        (const ImpQuantalFit     *fit);
double      imp_quantal_fit_density         (const ImpQuantalFit     *fit,
                                             int                      k,
                                             double                   amplitude_mv);

G_END_DECLS
