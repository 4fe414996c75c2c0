/* imp-psc.c
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <math.h>
#include <string.h>
#include <time.h>

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_eigen.h>

#include "imp-detect.h"
#include "imp-psc.h"
#include "imp-psc-private.h"

/* docs/analysis.md, "Waveform test", explains each number. */
#define BLOCK_CHANNELS   64
#define BLOCK_S          2.0
#define TEMPLATE_MS      60.0  /* a cell's own AP and AHP template */
#define TEMPLATE_PRE_MS  2.0
#define BLANK_PRE_MS     1.0
#define ZERO_FROM_MS     1.0   /* crosstalk: lags from 1 ms before the AP
                                  peak to latency_min_ms */
#define LEAD_GAP_MS      1.0   /* lead windows end this long before the AP */
#define MIN_FLANK        0.25  /* usable share of a trial's baseline */
#define SMOOTH_MS        0.5   /* boxcar on d before the window sums */
#define CROSSTALK_T      5.0   /* coupling removed only when this many
                                  standard errors from zero */
#define NULL_MIN_N       200   /* null trial sums for a post's variance */
#define NULL_COV_EVERY   16    /* the delays' covariance from every 16th */
#define NULL_COV_MAX     64    /* and for at most this many delays */
#define MAX_THREADS      8
/* When the posts' deconvolved blocks take at most this many bytes, the
 * first pass keeps them for the second, which then neither reads nor
 * deconvolves (small arrays; the results are the same). */
#define KEEP_MAX_BYTES   ((gsize) 384 * 1024 * 1024)

static gsize keep_max_bytes = KEEP_MAX_BYTES;

/* Per (post, pre), by post so that one post channel's sums lie together,
 * rows of one statistic over the delays (docs/analysis.md): for the main
 * delays the M_ rows below, for the lead delays the trials, sum and sum
 * of squares of the window sums (lead delays from isolated APs only: no
 * other pre AP within the whole window before them); then for the
 * zero-latency lags the trials and the sums (and squares) of the
 * projection on the pre's own AP and of the plain sum. Floats: a few
 * hundred trials' sums keep seven digits. */
enum { L_N, L_S, L_S2, N_LEAD_ACC };
enum { Z_N, Z_P, Z_P2, Z_S, Z_S2, N_ZERO };

/* Main delays: per delay the trials, their sum, and over clusters of
 * trials (APs closer than a trial's whole span, whose trials share
 * baselines and slow co-modulation) the sums of the cluster sums squared,
 * of trials × cluster sum, of trials squared, and the clusters: what a
 * cluster-robust variance needs. */
enum { M_N, M_S, M_Q, M_R, M_N2, M_G, N_MAIN_ACC };

/* A pair's sums within one block while its trials are added, rows of
 * ROW_ALIGN-padded length: the M_ rows of clusters of two or more trials
 * (M_Q for all), the trials and sums of single-trial clusters (which add
 * to M_N, M_S, M_R, M_N2 and M_G alike), the open cluster, and the lead
 * rows. */
enum { P_ONE_N = N_MAIN_ACC, P_ONE_S, P_CLUSTER_N, P_CLUSTER_S, N_PAIR_ROWS };

#define ROW_ALIGN 8

/* A presynaptic AP of the block being read, as every post sees it. */
enum
{
  AP_FITS          = 1 << 0,  /* its trial lies within the block */
  AP_ISOLATED      = 1 << 1,  /* no other within the lead and windows */
  AP_CLUSTER_START = 1 << 2,  /* far from the one before */
  AP_CLUSTER_END   = 1 << 3,  /* far from the next one in the block */
};

typedef struct
{
  gint32  c;              /* sample within the block */
  guint32 flags;
} BlockAp;

typedef struct
{
  ImpRecording            *rec;
  const ImpAnalysisParams *p;
  double   fs;
  guint    n_channels;
  GArray **ap_times;      /* gint64 per channel */
  guint   *pre_index;     /* channel -> index among pres, or G_MAXUINT */
  guint   *post_index;
  guint    n_pre, n_post;
  guint   *pres;          /* index -> channel */
  /* geometry, samples */
  double   a;             /* deconvolution factor per sample */
  gsize    box;           /* smoothing */
  gint64   w, lead, post_len, flank;
  gint64   lo, hi;        /* main delays */
  gint64   d_step;
  guint    n_main, n_lead, n_acc;
  guint    main_pad, lead_pad;   /* rows rounded up to ROW_ALIGN */
  gint64   zero_from, zero_to, zero_len;
  guint    zero_pad;
  gint64   tpl_pre, tpl_len, blank_pre, blank_post;
  gint64   n_max;         /* the longest padded block */
  gint64   n_phase;       /* window sums per phase of d_step */
  /* accumulators */
  float   *acc;           /* the block's posts × n_pre × n_acc */
  GArray  *out;           /* ImpPscTest: the tests of the block's posts */
  gsize   *out_at;        /* post channel -> its first test in out */
  ImpPscFunc func;        /* takes them when they are judged */
  gpointer   func_data;
  double  *tpl;           /* n_channels × tpl_len: own AP and AHP in d */
  float   *tpl_zero;      /* n_pre × zero_pad: the pre's template at the
                             zero-latency lags, zero-padded */
  double  *tpl_zero_sum;  /* n_pre: its sum */
  double  *auto_mean;     /* n_pre × n_main: auto_win's means */
  double  *null_sums;     /* n_channels × null_len: count and sum of a
                             post's trial sums at every w-th sample at
                             each main delay, then the sum of squares at
                             the first (add_null()) */
  gsize    null_len;
  double  *null_cov;      /* n_channels × n_cov: count, sums and sums of
                             products of the trial sums at every main
                             delay (add_null()) */
  gsize    n_cov;
  double  *m_eff;         /* n_channels: the main delays' effective
                             number of independent tests */
  double  *tpl_xx;        /* n_pre: the template's sum of squares and */
  double  *tpl_sum;       /* sum there, in full precision */
  double  *auto_win;      /* n_pre × n_main × 2: window sums (and count)
                             of the pre's own raw d after all its APs, what
                             its crosstalk carries */
  guint   *tpl_n;
  BlockAp *block_aps;     /* the pres' APs in [t0, t1), by pre */
  guint   *bk;            /* n_pre + 1: each pre's first in block_aps */
  gpointer *scratch;      /* per thread */
  ImpProgressFunc progress;
  gpointer        user_data;
  gint64          done, total;   /* blocks × channels, both passes */
  gint64          read_us;       /* time spent reading, behind the
                                    workers */
  float  **kept;          /* blocks × BLOCK_CHANNELS: where a post's d
                             from the first pass is kept, or NULL (see
                             KEEP_MAX_BYTES) */
  float   *kept_mem;      /* all of them */
  /* the block being worked on */
  guint        pass;
  guint        block;
  guint        first;
  const float *buf;
  gint64       r0, n, t0, t1;
} Psc;

enum { PASS_TEMPLATE, PASS_PAIRS, PASS_JUDGE };

/* One thread's buffers, for the longest block. */
typedef struct
{
  float  *d;
  float  *tmp;
  float  *dz;             /* d minus its level, 0 where unusable */
  float  *trial;          /* per AP sample: the trial's baseline and
                             zero-latency sum */
  double *cs;             /* cumulative sums, n_max + 1 */
  gint32 *cb;
  float  *win;            /* window sums by phase: d_step × n_phase */
  float  *rows;           /* N_PAIR_ROWS × main_pad + N_LEAD_ACC × lead_pad */
  double *y;              /* n_main + n_lead */
  double *t2;             /* n_main + n_lead */
} Scratch;


static inline gint64
to_samples (double ms,
            double fs)
{
  return (gint64) llround (ms * fs / 1000.0);
}

/* Running sums of a channel's d over the block: cs[i] is the sum of the
 * usable d[0..i), cb[i] the number of unusable ones; so that a trial's
 * baseline and window sums cost a subtraction each. */
typedef struct
{
  double *cs;
  gint32 *cb;
} Cumul;

#define CUMUL_GROUP 8

/* The running sums of @d[0..n) into @cu (n + 1 values each), a group of
 * CUMUL_GROUP samples at a time: the groups' own sums do not wait for
 * each other, so the running total is one addition per group. */
static void
cumul_init (Cumul       *cu,
            const float *d,
            gint64       n)
{
  double run = 0;
  gint32 bad = 0;
  gint64 i = 0, k;

  cu->cs[0] = 0;
  cu->cb[0] = 0;
  for (; i + CUMUL_GROUP <= n; i += CUMUL_GROUP)
    {
      double part[CUMUL_GROUP], sum = 0;
      gint32 part_bad[CUMUL_GROUP], nb = 0;

      for (k = 0; k < CUMUL_GROUP; k++)
        {
          gboolean ok = isfinite (d[i + k]);

          sum += ok ? d[i + k] : 0;
          nb += !ok;
          part[k] = sum;
          part_bad[k] = nb;
        }
      for (k = 0; k < CUMUL_GROUP; k++)
        {
          cu->cs[i + k + 1] = run + part[k];
          cu->cb[i + k + 1] = bad + part_bad[k];
        }
      run += sum;
      bad += nb;
    }
  for (; i < n; i++)
    {
      gboolean ok = isfinite (d[i]);

      cu->cs[i + 1] = cu->cs[i] + (ok ? d[i] : 0);
      cu->cb[i + 1] = cu->cb[i] + !ok;
    }
}

/* Deconvolves x[0..n) towards synaptic current, d[i] = x[i] - a x[i-1],
 * and smooths d by a centred boxcar of @box samples (the sum of d over a
 * window telescopes to little more than the difference of its end
 * samples, whose white noise the boxcar averages). A sample whose box
 * touches a gap is NAN. @tmp holds n values, @cu n + 1. */
static void
deconvolve (const float *x,
            gsize        n,
            double       a,
            gsize        box,
            float       *tmp,
            Cumul       *cu,
            float       *d)
{
  gsize i, half = box / 2;

  if (n == 0)
    return;
  tmp[0] = NAN;
  for (i = 1; i < n; i++)
    tmp[i] = imp_detect_usable (x[i]) && imp_detect_usable (x[i - 1])
             ? (float) (x[i] - a * x[i - 1]) : NAN;
  for (i = 0; i < n; i++)
    d[i] = NAN;
  /* Without gaps (tmp[0] aside), a sliding sum: the same values as the
   * running sums' differences to well within a float's precision. */
  if (box > 0 && box < n && imp_detect_count_gaps (tmp + 1, n - 1) == 0)
    {
      double sum = 0;

      for (i = 1; i <= box; i++)
        sum += tmp[i];
      d[1 + half] = (float) (sum / box);
      for (i = 2; i + box <= n; i++)
        {
          sum += (double) tmp[i + box - 1] - tmp[i - 1];
          d[i + half] = (float) (sum / box);
        }
      return;
    }
  cumul_init (cu, tmp, (gint64) n);
  for (i = 0; i + box <= n; i++)
    if (cu->cb[i + box] == cu->cb[i])
      d[i + half] = (float) ((cu->cs[i + box] - cu->cs[i]) / box);
}

/* Mean of the usable d over the flanks [c - lead - flank, c - lead) and
 * [c + post_len, c + post_len + flank); NAN when too few are usable. */
static double
flank_mean (const Psc   *ps,
            const Cumul *cu,
            gint64       c)
{
  gint64 a0 = c - ps->lead - ps->flank, a1 = c - ps->lead;
  gint64 b0 = c + ps->post_len, b1 = b0 + ps->flank;
  gint64 n = 2 * ps->flank - (cu->cb[a1] - cu->cb[a0])
             - (cu->cb[b1] - cu->cb[b0]);

  if (n < MIN_FLANK * 2 * ps->flank)
    return NAN;
  return (cu->cs[a1] - cu->cs[a0] + cu->cs[b1] - cu->cs[b0]) / n;
}

/* The sum of the usable d over [s, e); their number into @n_ok. */
static double
span_sum (const float *d,
          gint64       s,
          gint64       e,
          gint64      *n_ok)
{
  double sum = 0;
  gint64 ok = 0;

  for (gint64 i = s; i < e; i++)
    {
      gboolean usable = isfinite (d[i]);

      sum += usable ? d[i] : 0;
      ok += usable;
    }
  *n_ok = ok;
  return sum;
}

/* flank_mean() and the main delays' window sums of (d - base) over
 * [c + D, c + D + w) into @y (NAN where a sample is blanked), summed
 * directly: for the few APs of one cell, cheaper than running sums over
 * the block. Returns the flanks' mean, NAN when too few are usable. */
static double
window_sums (const Psc   *ps,
             const float *d,
             gint64       c,
             double      *y)
{
  gint64 na, nb, n;
  double base = span_sum (d, c - ps->lead - ps->flank, c - ps->lead, &na)
                + span_sum (d, c + ps->post_len,
                            c + ps->post_len + ps->flank, &nb);
  guint j;

  n = na + nb;
  if (n < MIN_FLANK * 2 * ps->flank)
    return NAN;
  base /= n;
  for (j = 0; j < ps->n_main; j++)
    {
      gint64 s0 = c + ps->lo + (gint64) j * ps->d_step, ok;
      double sum = span_sum (d, s0, s0 + ps->w, &ok);

      y[j] = ok == ps->w ? sum - ps->w * base : NAN;
    }
  return base;
}

/* Pass 1: the cell's own AP and AHP in d, from isolated APs (no other
 * within the template's length either side). */
static void
add_template (Psc         *ps,
              guint        ch,
              const float *d)
{
  GArray *aps = ps->ap_times[ch];
  const gint64 *at = (const gint64 *) aps->data;
  double *tpl = ps->tpl + (gsize) ch * ps->tpl_len;
  guint k = imp_detect_lower_bound (at, aps->len, ps->t0);

  for (; k < aps->len && at[k] < ps->t1; k++)
    {
      gint64 c = at[k] - ps->r0, u;
      double base = 0;
      gint64 nb = 0;

      if ((k > 0 && at[k] - at[k - 1] < ps->tpl_len)
          || (k + 1 < aps->len && at[k + 1] - at[k] < ps->tpl_len))
        continue;
      if (c - ps->tpl_pre - ps->flank < 0 || c + ps->tpl_len > ps->n)
        continue;
      for (u = c - ps->tpl_pre - ps->flank; u < c - ps->tpl_pre; u++)
        if (isfinite (d[u]))
          base += d[u], nb++;
      if (nb < MIN_FLANK * ps->flank)
        continue;
      base /= nb;
      for (u = 0; u < ps->tpl_len; u++)
        if (!isfinite (d[c - ps->tpl_pre + u]))
          break;
      if (u < ps->tpl_len)
        continue;
      for (u = 0; u < ps->tpl_len; u++)
        tpl[u] += d[c - ps->tpl_pre + u] - base;
      ps->tpl_n[ch]++;
    }
}

/* Pass 2, per channel: subtract the own template at every own AP, then
 * blank from BLANK_PRE_MS before each to ap_blank_ms after. */
static void
remove_own_aps (Psc   *ps,
                guint  ch,
                float *d)
{
  GArray *aps = ps->ap_times[ch];
  const gint64 *at = (const gint64 *) aps->data;
  const double *tpl = ps->tpl + (gsize) ch * ps->tpl_len;
  gint64 r0 = ps->r0, n = ps->n;
  guint k = imp_detect_lower_bound (at, aps->len, r0 - ps->tpl_len);
  guint j;

  if (ps->tpl_n[ch] > 0)
    for (j = k; j < aps->len && at[j] - ps->tpl_pre < r0 + n; j++)
      {
        gint64 u;

        for (u = 0; u < ps->tpl_len; u++)
          {
            gint64 i = at[j] - r0 - ps->tpl_pre + u;

            if (i >= 0 && i < n)
              d[i] -= (float) tpl[u];
          }
      }

  for (j = k; j < aps->len && at[j] - ps->blank_pre < r0 + n; j++)
    {
      gint64 i;

      for (i = at[j] - ps->blank_pre; i <= at[j] + ps->blank_post; i++)
        if (i - r0 >= 0 && i - r0 < n)
          d[i - r0] = NAN;
    }
}

/* The accumulators of (pre index @pi, post channel @ch): only the posts of
 * the channel block being read have them, so memory grows with the
 * number of presynaptic cells, not with the number of pairs. */
static inline float *
pair_acc (const Psc *ps,
          guint      ch,
          guint      pi)
{
  return ps->acc + ((gsize) (ch - ps->first) * ps->n_pre + pi) * ps->n_acc;
}

/* Window sums of a post channel's d minus its level @mu over [i, i + w)
 * for every start i, NAN where a sample is blanked, stored by phase:
 * win[(i % d_step) × n_phase + i / d_step], so that the delays a step
 * apart after an AP lie side by side. */
static inline float
window_at (const Psc   *ps,
           const Cumul *cu,
           double       mu,
           gint64       i)
{
  gint64 e = i + ps->w;

  return e <= ps->n && cu->cb[e] == cu->cb[i]
         ? (float) (cu->cs[e] - cu->cs[i] - ps->w * mu) : NAN;
}

static void
window_series (const Psc   *ps,
               const Cumul *cu,
               double       mu,
               float       *win)
{
  gint64 r, q;

  for (r = 0; r < ps->d_step; r++)
    {
      float *row = win + r * ps->n_phase;

      for (q = 0; q < ps->n_phase; q++)
        row[q] = window_at (ps, cu, mu, q * ps->d_step + r);
    }
}

/* Only the @len window sums a step apart from @start that a trial reads,
 * where they lie in the series. */
static void
window_entries (const Psc   *ps,
                const Cumul *cu,
                double       mu,
                gint64       start,
                guint        len,
                float       *win)
{
  gint64 r = start % ps->d_step, q0 = start / ps->d_step;
  float *row = win + r * ps->n_phase;
  guint j;

  for (j = 0; j < len; j++)
    row[q0 + j] = window_at (ps, cu, mu, (q0 + j) * ps->d_step + r);
}

/* The trial series at one AP sample @c (below). */
static inline void
trial_at (const Psc   *ps,
          const Cumul *cu,
          double       mu,
          gint64       c,
          float       *trial)
{
  gint64 zlen = ps->zero_to - ps->zero_from;
  gint64 s = c + ps->zero_from;
  double b = flank_mean (ps, cu, c);

  trial[2 * c] = (float) (b - mu);
  trial[2 * c + 1] = cu->cb[s + zlen] == cu->cb[s]
                     ? (float) (cu->cs[s + zlen] - cu->cs[s] - zlen * mu)
                     : NAN;
}

/* For every AP sample c at which a trial fits in the block, side by side
 * since a trial needs both: the trial's baseline minus @mu (NAN with too
 * few usable flank samples) into @trial[2c], and the sum of d minus @mu
 * over the zero-latency lags (NAN where blanked) into @trial[2c + 1]. */
static void
trial_series (const Psc   *ps,
              const Cumul *cu,
              double       mu,
              float       *trial)
{
  gint64 c0 = ps->lead + ps->flank, c1 = ps->n - ps->post_len - ps->flank;
  gint64 c;

  for (c = c0; c <= c1; c++)
    trial_at (ps, cu, mu, c, trial);
}

static inline const float *
window_row (const Psc   *ps,
            const float *win,
            gint64       start)
{
  return win + (start % ps->d_step) * ps->n_phase + start / ps->d_step;
}

/* One trial's window sums y = @wr - @wb at @n delays, left out where NAN:
 * adds 1, y and y² to @rn, @rs and @rq. */
static inline void
add_trial (float       *restrict rn,
           float       *restrict rs,
           float       *restrict rq,
           const float *restrict wr,
           float                 wb,
           guint                 n)
{
  guint j;

  for (j = 0; j < n; j++)
    {
      float v = wr[j] - wb;
      float ok = v == v ? 1.0f : 0.0f;

      v = v == v ? v : 0.0f;
      rn[j] += ok;
      rs[j] += v;
      rq[j] += v * v;
    }
}

/* The same into the open cluster: trials and sum only. */
static inline void
add_cluster (float       *restrict rn,
             float       *restrict rs,
             const float *restrict wr,
             float                 wb,
             guint                 n)
{
  guint j;

  for (j = 0; j < n; j++)
    {
      float v = wr[j] - wb;

      rn[j] += v == v ? 1.0f : 0.0f;
      rs[j] += v == v ? v : 0.0f;
    }
}

/* Closes the open cluster (@cn, @cs) of two or more trials into the
 * M_ rows (separate restrict pointers, which GCC's vectoriser trusts
 * where offsets into one array it cannot tell apart). */
static inline void
flush_rows (float *restrict mn,
            float *restrict ms,
            float *restrict mq,
            float *restrict mr,
            float *restrict mn2,
            float *restrict mg,
            float *restrict cn,
            float *restrict cs,
            gsize           n)
{
  gsize j;

  for (j = 0; j < n; j++)
    {
      mn[j] += cn[j];
      ms[j] += cs[j];
      mq[j] += cs[j] * cs[j];
      mr[j] += cn[j] * cs[j];
      mn2[j] += cn[j] * cn[j];
      mg[j] += cn[j] > 0 ? 1.0f : 0.0f;
      cn[j] = 0;
      cs[j] = 0;
    }
}

static void
flush_cluster (float *rows,
               gsize  n)
{
  flush_rows (rows + M_N * n, rows + M_S * n, rows + M_Q * n,
              rows + M_R * n, rows + M_N2 * n, rows + M_G * n,
              rows + P_CLUSTER_N * n, rows + P_CLUSTER_S * n, n);
}

/* Adds a pair's block sums @rows to its accumulators @acc (@m main
 * delays, rows @n apart): a single-trial cluster adds its trial count to
 * M_N, M_N2 and M_G and its sum to M_S and M_R. */
static void
merge_main (float       *restrict acc,
            const float *restrict rows,
            gsize                 m,
            gsize                 n)
{
  const float *restrict one_n = rows + P_ONE_N * n;
  const float *restrict one_s = rows + P_ONE_S * n;
  gsize i, j;

  for (i = 0; i < N_MAIN_ACC; i++)
    {
      float *restrict a = acc + i * m;
      const float *restrict r = rows + i * n;
      const float *restrict one = i == M_Q ? NULL
                                  : i == M_S || i == M_R ? one_s : one_n;

      if (one == NULL)
        for (j = 0; j < m; j++)
          a[j] += r[j];
      else
        for (j = 0; j < m; j++)
          a[j] += r[j] + one[j];
    }
}

static void
add_row (float       *restrict a,
         const float *restrict r,
         gsize                 n)
{
  gsize j;

  for (j = 0; j < n; j++)
    a[j] += r[j];
}

static void
merge_pair (const Psc    *ps,
            const float  *rows,
            const double *zero,
            float        *acc)
{
  const float *lead = rows + N_PAIR_ROWS * ps->main_pad;
  float *lacc = acc + N_MAIN_ACC * ps->n_main;
  float *zacc = lacc + N_LEAD_ACC * ps->n_lead;
  gsize i;

  merge_main (acc, rows, ps->n_main, ps->main_pad);
  for (i = 0; i < N_LEAD_ACC; i++)
    add_row (lacc + i * ps->n_lead, lead + i * ps->lead_pad, ps->n_lead);
  for (i = 0; i < N_ZERO; i++)
    zacc[i] += (float) zero[i];
}

/* The projection of the trial's centred d at the zero-latency lags on
 * the pre's template there (zero-padded, so whole ROW_ALIGN groups). */
static inline double
project_zero (const float *restrict tz,
              const float *restrict dz,
              guint                 n)
{
  float part[ROW_ALIGN] = { 0 };
  gsize l, m;

  for (l = 0; l < n; l += ROW_ALIGN)
    for (m = 0; m < ROW_ALIGN; m++)
      part[m] += tz[l + m] * dz[l + m];
  /* A tree, not a chain of dependent additions. */
  for (m = 0; m < ROW_ALIGN / 2; m++)
    part[m] += part[m + ROW_ALIGN / 2];
  return ((double) part[0] + part[2]) + ((double) part[1] + part[3]);
}

/* Pass 2: every AP of pre @pi in [t0, t1) against the post channel whose
 * series are in @sc. */
static void
add_pair (const Psc *ps,
          Scratch   *sc,
          guint      pi,
          float     *acc)
{
  guint n = ps->main_pad;
  const float *tz = ps->tpl_zero + (gsize) pi * ps->zero_pad;
  double tz_sum = ps->tpl_zero_sum[pi];
  float *rows = sc->rows;
  float *lead = rows + N_PAIR_ROWS * n;
  double zero[N_ZERO] = { 0 };
  gboolean open = FALSE;
  guint k, used = 0;

  memset (rows, 0, sizeof (float) * (N_PAIR_ROWS * n
                                     + N_LEAD_ACC * ps->lead_pad));
  for (k = ps->bk[pi]; k < ps->bk[pi + 1]; k++)
    {
      gint64 c = ps->block_aps[k].c;
      guint flags = ps->block_aps[k].flags;
      float base, wb, zs;

      if (open && (flags & AP_CLUSTER_START))
        {
          flush_cluster (rows, n);
          open = FALSE;
        }
      if (!(flags & AP_FITS) || isnan (sc->trial[2 * c]))
        continue;
      used++;
      base = sc->trial[2 * c];
      wb = (float) ps->w * base;
      if (!open && (flags & AP_CLUSTER_END))
        add_trial (rows + P_ONE_N * n, rows + P_ONE_S * n, rows + M_Q * n,
                   window_row (ps, sc->win, c + ps->lo), wb, n);
      else
        {
          add_cluster (rows + P_CLUSTER_N * n, rows + P_CLUSTER_S * n,
                       window_row (ps, sc->win, c + ps->lo), wb, n);
          open = TRUE;
        }
      if (flags & AP_ISOLATED)
        add_trial (lead + L_N * ps->lead_pad, lead + L_S * ps->lead_pad,
                   lead + L_S2 * ps->lead_pad,
                   window_row (ps, sc->win, c - ps->lead), wb,
                   ps->lead_pad);

      zs = sc->trial[2 * c + 1];
      if (!isnan (zs))
        {
          double sum = (double) zs - (double) ps->zero_len * base;
          double proj = project_zero (tz, sc->dz + c + ps->zero_from,
                                      ps->zero_pad)
                        - (double) base * tz_sum;

          zero[Z_N] += 1;
          zero[Z_P] += proj;
          zero[Z_P2] += proj * proj;
          zero[Z_S] += sum;
          zero[Z_S2] += sum * sum;
        }
    }
  if (open)
    flush_cluster (rows, n);
  if (used > 0)
    merge_pair (ps, rows, zero, acc);
}

/* Pass 2: the post's trial sums y (less their baseline) at every w-th
 * sample of the block, AP or not, into @sums: their count and sum at
 * each main delay, for its mean under the null, and their sum of squares
 * at the first, for the variance of a trial sum (judge_pair()); and at
 * every NULL_COV_EVERY-th of those samples the sums at all main delays
 * (@y: room for them) into @cov:
 * their count, sums and sums of products (row by row, upper triangle),
 * for the delays' effective number of tests (effective_tests()). */
static void
add_null (const Psc   *ps,
          const Cumul *cu,
          double      *sums,
          double      *cov,
          double      *y)
{
  gint64 c0 = MAX (ps->lead + ps->flank, ps->t0 - ps->r0);
  gint64 c1 = MIN (ps->n - ps->post_len - ps->flank, ps->t1 - ps->r0);
  gint64 c;
  guint m = ps->n_main;

  /* at the same recording samples whatever the blocks */
  c0 += (ps->w - (c0 + ps->r0) % ps->w) % ps->w;
  for (c = c0; c < c1; c += ps->w)
    {
      double b = flank_mean (ps, cu, c);
      gboolean all = TRUE;
      guint j, k, q;

      if (isnan (b))
        continue;
      for (j = 0; j < m; j++)
        {
          gint64 i = c + ps->lo + (gint64) j * ps->d_step, e = i + ps->w;

          if (e > ps->n || cu->cb[e] != cu->cb[i])
            {
              y[j] = NAN;
              all = FALSE;
              continue;
            }
          y[j] = cu->cs[e] - cu->cs[i] - ps->w * b;
          sums[2 * j] += 1;
          sums[2 * j + 1] += y[j];
        }
      if (!isnan (y[0]))
        sums[2 * m] += y[0] * y[0];

      /* every delay's, for how far apart the delays are as tests */
      if (cov == NULL || !all || (c + ps->r0) / ps->w % NULL_COV_EVERY != 0)
        continue;
      cov[0] += 1;
      for (j = 0, q = 1 + m; j < m; j++)
        {
          cov[1 + j] += y[j];
          for (k = j; k < m; k++)
            cov[q++] += y[j] * y[k];
        }
    }
}

/**
 * _imp_psc_effective_tests:
 * @cov: (array length=m*m): a covariance matrix, row by row; overwritten
 * @m: its size
 *
 * The effective number of independent tests among @m correlated ones,
 * from the eigenvalues λ of their correlation matrix: Σ [λ ≥ 1] + λ − ⌊λ⌋
 * (Li and Ji 2005); @m when a variance is not positive.
 *
 * Returns: a number in [1, @m]
 */
double
_imp_psc_effective_tests (double *cov,
                          guint   m)
{
  gsl_matrix_view r = gsl_matrix_view_array (cov, m, m);
  g_autofree double *sd = g_new (double, m);
  gsl_vector *eval;
  gsl_eigen_symm_workspace *ws;
  double m_eff = 0;
  guint j, k;

  g_return_val_if_fail (cov != NULL && m > 0, 1);

  for (j = 0; j < m; j++)
    {
      if (!(cov[j * m + j] > 0))
        return m;
      sd[j] = sqrt (cov[j * m + j]);
    }
  for (j = 0; j < m; j++)
    for (k = 0; k < m; k++)
      cov[j * m + k] = j == k ? 1 : cov[j * m + k] / (sd[j] * sd[k]);
  eval = gsl_vector_alloc (m);
  ws = gsl_eigen_symm_alloc (m);
  if (gsl_eigen_symm (&r.matrix, eval, ws) == 0)
    for (j = 0; j < m; j++)
      {
        /* (an eigenvalue a rounding error below a whole number is that
         * number, where the formula jumps) */
        double l = fabs (gsl_vector_get (eval, j)) + 1e-9;

        m_eff += (l >= 1) + (l - floor (l));
      }
  else
    m_eff = m;
  gsl_eigen_symm_free (ws);
  gsl_vector_free (eval);
  return CLAMP (m_eff, 1, m);
}

/* The effective number of independent tests among the main delays of
 * post channel @ch, from their covariance under the null; the number of
 * delays when there were too few samples to tell, or more than
 * NULL_COV_MAX delays. */
static double
effective_tests (const Psc *ps,
                 guint      ch)
{
  const double *cov;
  guint m = ps->n_main, j, k, q;
  double n;
  g_autofree double *c = NULL;

  if (ps->null_cov == NULL || m < 2)
    return m;
  cov = ps->null_cov + (gsize) ch * ps->n_cov;
  n = cov[0];
  if (n < NULL_MIN_N)
    return m;
  c = g_new (double, (gsize) m * m);
  for (j = 0, q = 1 + m; j < m; j++)
    for (k = j; k < m; k++, q++)
      c[j * m + k] = c[k * m + j] = cov[q] / n - cov[1 + j] / n
                                                 * cov[1 + k] / n;
  return _imp_psc_effective_tests (c, m);
}

/* Pass 2: every pre AP in [t0, t1) against post channel @ch. */
static void
add_pairs (Psc         *ps,
           Scratch     *sc,
           guint        ch,
           const float *d)
{
  Cumul cu = { sc->cs, sc->cb };
  gint64 i, n_ok;
  double mu;
  guint pi;

  cumul_init (&cu, d, ps->n);
  add_null (ps, &cu, ps->null_sums + (gsize) ch * ps->null_len,
            ps->null_cov != NULL ? ps->null_cov + (gsize) ch * ps->n_cov
                                 : NULL, sc->y);
  /* Sums relative to the block's level keep their digits in floats. */
  n_ok = ps->n - cu.cb[ps->n];
  mu = n_ok > 0 ? cu.cs[ps->n] / n_ok : 0;
  /* Every series value, or (when the block's APs are few: small arrays,
   * sparse firing) only those the trials read; the same values. */
  if ((gint64) ps->bk[ps->n_pre] * (ps->main_pad + ps->lead_pad + 2)
      < ps->n)
    {
      guint k;

      for (k = 0; k < ps->bk[ps->n_pre]; k++)
        {
          gint64 c = ps->block_aps[k].c;
          guint flags = ps->block_aps[k].flags;

          if (!(flags & AP_FITS))
            continue;
          trial_at (ps, &cu, mu, c, sc->trial);
          window_entries (ps, &cu, mu, c + ps->lo, ps->main_pad, sc->win);
          if (flags & AP_ISOLATED)
            window_entries (ps, &cu, mu, c - ps->lead, ps->lead_pad,
                            sc->win);
        }
    }
  else
    {
      window_series (ps, &cu, mu, sc->win);
      trial_series (ps, &cu, mu, sc->trial);
    }
  for (i = 0; i < ps->n; i++)
    sc->dz[i] = isfinite (d[i]) ? (float) (d[i] - mu) : 0.0f;
  for (i = ps->n; i < ps->n_max; i++)
    sc->dz[i] = 0;

  for (pi = 0; pi < ps->n_pre; pi++)
    if (ps->pres[pi] != ch && ps->bk[pi] < ps->bk[pi + 1])
      add_pair (ps, sc, pi, pair_acc (ps, ch, pi));
}

/* Pass 1, a pre channel: its own raw d after each of its APs, summed
 * over the main windows as the pair trials are. */
static void
add_auto (Psc         *ps,
          Scratch     *sc,
          guint        ch,
          const float *d)
{
  double *y = sc->y;
  double *aw = ps->auto_win + (gsize) ps->pre_index[ch] * ps->n_main * 2;
  GArray *aps = ps->ap_times[ch];
  const gint64 *at = (const gint64 *) aps->data;
  guint k = imp_detect_lower_bound (at, aps->len, ps->t0), j;

  for (; k < aps->len && at[k] < ps->t1; k++)
    {
      gint64 c = at[k] - ps->r0;

      if (c - ps->lead - ps->flank < 0
          || c + ps->post_len + ps->flank > ps->n)
        continue;
      if (!isfinite (window_sums (ps, d, c, y)))
        continue;
      for (j = 0; j < ps->n_main; j++)
        if (isfinite (y[j]))
          {
            aw[2 * j] += y[j];
            aw[2 * j + 1] += 1;
          }
    }
}

static void judge_pair (const Psc  *ps,
                        Scratch    *sc,
                        guint       pi,
                        guint       post_ch,
                        ImpPscTest *t);

/* One channel of the block being read. */
static void
channel_item (Psc     *ps,
              Scratch *sc,
              guint    item)
{
  guint ch = ps->first + item;
  Cumul cu = { sc->cs, sc->cb };
  float *kept = NULL, *d;

  if (ps->post_index[ch] == G_MAXUINT && ps->pre_index[ch] == G_MAXUINT)
    return;
  if (ps->pass == PASS_JUDGE)
    {
      ImpPscTest *t;
      guint pi;

      if (ps->post_index[ch] == G_MAXUINT)
        return;
      t = &g_array_index (ps->out, ImpPscTest, ps->out_at[ch]);
      ps->m_eff[ch] = effective_tests (ps, ch);
      for (pi = 0; pi < ps->n_pre; pi++)
        if (ch != ps->pres[pi])
          judge_pair (ps, sc, pi, ch, t++);
      return;
    }
  if (ps->kept != NULL)
    kept = ps->kept[(gsize) ps->block * BLOCK_CHANNELS + item];
  if (kept != NULL && ps->pass == PASS_PAIRS)
    {
      remove_own_aps (ps, ch, kept);
      add_pairs (ps, sc, ch, kept);
      return;
    }
  d = kept != NULL ? kept : sc->d;
  deconvolve (ps->buf + (gsize) item * ps->n, ps->n, ps->a, ps->box,
              sc->tmp, &cu, d);
  if (ps->pass == PASS_TEMPLATE)
    {
      add_template (ps, ch, d);
      if (ps->pre_index[ch] != G_MAXUINT)
        add_auto (ps, sc, ch, d);
      return;
    }
  if (ps->post_index[ch] != G_MAXUINT)
    {
      remove_own_aps (ps, ch, d);
      add_pairs (ps, sc, ch, d);
    }
}

static Scratch *
scratch_new (const Psc *ps)
{
  Scratch *sc = g_new0 (Scratch, 1);
  gsize n = (gsize) ps->n_max;

  sc->d = g_new (float, n);
  sc->tmp = g_new (float, n);
  sc->dz = g_new0 (float, n + ps->zero_pad);
  sc->trial = g_new (float, 2 * n);
  sc->cs = g_new (double, n + 1);
  sc->cb = g_new (gint32, n + 1);
  sc->win = g_new (float, (gsize) (ps->d_step * ps->n_phase));
  sc->rows = g_new (float, N_PAIR_ROWS * ps->main_pad
                           + N_LEAD_ACC * ps->lead_pad);
  sc->y = g_new (double, ps->n_main + ps->n_lead);
  sc->t2 = g_new (double, ps->n_main + ps->n_lead);
  return sc;
}

static void
scratch_free (gpointer data)
{
  Scratch *sc = data;

  if (sc == NULL)
    return;
  g_free (sc->d);
  g_free (sc->tmp);
  g_free (sc->dz);
  g_free (sc->trial);
  g_free (sc->cs);
  g_free (sc->cb);
  g_free (sc->win);
  g_free (sc->rows);
  g_free (sc->y);
  g_free (sc->t2);
  g_free (sc);
}

typedef struct
{
  Psc  *ps;
  guint n;
  gint  next;
  gint  next_thread;
} Parallel;

static gpointer
parallel_worker (gpointer data)
{
  Parallel *par = data;
  guint thread = (guint) g_atomic_int_add (&par->next_thread, 1);
  Scratch *sc = par->ps->scratch[thread];
  gint item;

  while ((item = g_atomic_int_add (&par->next, 1)) < (gint) par->n)
    channel_item (par->ps, sc, (guint) item);
  return NULL;
}

/* The channels of a block on all processors (at most MAX_THREADS): each
 * writes only its own accumulators, with its own thread's buffers. */
static void
parallel_channels (Psc   *ps,
                   guint  n)
{
  Parallel par = { ps, n, 0, 0 };
  guint n_threads = MIN (CLAMP (g_get_num_processors (), 1, MAX_THREADS), n);
  g_autoptr(GPtrArray) threads = g_ptr_array_new ();
  guint i;

  for (i = 0; i < n_threads; i++)
    if (ps->scratch[i] == NULL)
      ps->scratch[i] = scratch_new (ps);
  for (i = 1; i < n_threads; i++)
    g_ptr_array_add (threads, g_thread_new ("imp-psc", parallel_worker,
                                            &par));
  parallel_worker (&par);
  for (i = 0; i < threads->len; i++)
    g_thread_join (g_ptr_array_index (threads, i));
}

static gint64
block_len (const Psc *ps)
{
  return (gint64) (BLOCK_S * ps->fs);
}

/* Enough for a trial's flanks and an own AP's template at either end. */
static gint64
block_pad (const Psc *ps)
{
  return MAX (ps->lead, ps->tpl_pre) + MAX (ps->post_len, ps->tpl_len)
         + ps->flank + (gint64) ps->box + 2;
}

/* Each pre's APs in [t0, t1), found once for all the block's posts,
 * with what a trial needs to know of its neighbours: clusters are APs
 * closer than a trial's whole span; a lead window needs no other AP
 * within the lead and windows before. */
static void
find_block_aps (Psc *ps)
{
  gint64 len = ps->lead + ps->post_len;
  gint64 gap = len + 2 * ps->flank;
  guint pi, k, m = 0;

  for (pi = 0; pi < ps->n_pre; pi++)
    {
      GArray *aps = ps->ap_times[ps->pres[pi]];
      const gint64 *at = (const gint64 *) aps->data;
      guint k0 = imp_detect_lower_bound (at, aps->len, ps->t0);

      ps->bk[pi] = m;
      for (k = k0; k < aps->len && at[k] < ps->t1; k++)
        {
          gint64 c = at[k] - ps->r0;
          guint flags = 0;

          if (c - ps->lead - ps->flank >= 0
              && c + ps->post_len + ps->flank <= ps->n)
            flags |= AP_FITS;
          if (k == 0 || at[k] - at[k - 1] > len)
            flags |= AP_ISOLATED;
          if (k == 0 || at[k] - at[k - 1] > gap)
            flags |= AP_CLUSTER_START;
          if (k + 1 == aps->len || at[k + 1] >= ps->t1
              || at[k + 1] - at[k] > gap)
            flags |= AP_CLUSTER_END;
          ps->block_aps[m].c = (gint32) c;
          ps->block_aps[m].flags = flags;
          m++;
        }
    }
  ps->bk[ps->n_pre] = m;
}

/* One block to read: channels [first, first + nc), samples [r0, r0 + n)
 * around [t0, t1). */
typedef struct
{
  guint    first, nc;
  gint64   r0, n, t0, t1;
  gboolean opens, closes;   /* the first and last of its channels */
} Block;

/* A block being read on a thread of its own while the one before it is
 * worked on (imp_recording_read() takes the recording's lock). */
typedef struct
{
  ImpRecording *rec;
  const Block  *b;
  float        *buf;
  gboolean      ok;
  GError       *error;
  gint64        us;
} Reading;

static gpointer
read_worker (gpointer data)
{
  Reading *rd = data;
  gint64 start = g_get_monotonic_time ();

  rd->ok = rd->b->n == 0
           || imp_recording_read (rd->rec, rd->b->first, rd->b->nc,
                                  rd->b->r0, rd->b->n, rd->buf, &rd->error);
  rd->us = g_get_monotonic_time () - start;
  return NULL;
}

/* The blocks of channels and time, padded, within each sweep, in the
 * order they are read. */
static GArray *
list_blocks (const Psc *ps)
{
  gint64 block = block_len (ps), pad = block_pad (ps);
  GArray *blocks = g_array_new (FALSE, FALSE, sizeof (Block));
  guint first, s, c;

  for (first = 0; first < ps->n_channels; first += BLOCK_CHANNELS)
    {
      guint nc = MIN (BLOCK_CHANNELS, ps->n_channels - first);
      gboolean wanted = FALSE;
      guint opening = blocks->len;

      for (c = first; c < first + nc; c++)
        wanted |= ps->post_index[c] != G_MAXUINT
                  || ps->pre_index[c] != G_MAXUINT;
      if (!wanted)
        continue;
      for (s = 0; s < imp_recording_get_n_sweeps (ps->rec); s++)
        {
          const ImpSweep *sw = imp_recording_get_sweep (ps->rec, s);
          gint64 end = sw->start_sample + sw->n_samples, t0;

          for (t0 = sw->start_sample; t0 < end; t0 += block)
            {
              Block b = { first, nc, 0, 0, t0, MIN (t0 + block, end),
                          FALSE, FALSE };
              gint64 r1 = MIN (end, b.t1 + pad);

              b.r0 = MAX (sw->start_sample, t0 - pad);
              b.n = r1 - b.r0;
              g_array_append_val (blocks, b);
            }
        }
      /* A channel group without samples is still judged. */
      if (blocks->len == opening)
        {
          Block b = { first, nc, 0, 0, 0, 0, FALSE, FALSE };

          g_array_append_val (blocks, b);
        }
      g_array_index (blocks, Block, opening).opens = TRUE;
      g_array_index (blocks, Block, blocks->len - 1).closes = TRUE;
    }
  return blocks;
}

/* Room in ps->out for the tests of the posts among the channels of
 * @b, by post and then pre. */
static void
size_out (Psc         *ps,
          const Block *b)
{
  gsize len = 0;

  for (guint c = b->first; c < b->first + b->nc; c++)
    if (ps->post_index[c] != G_MAXUINT)
      {
        ps->out_at[c] = len;
        len += ps->n_pre - (ps->pre_index[c] != G_MAXUINT);
      }
  g_array_set_size (ps->out, (guint) len);
}

/* Makes room for the posts' deconvolved blocks when they fit in
 * keep_max_bytes (and memory can be had). */
static void
plan_keeping (Psc *ps)
{
  g_autoptr(GArray) blocks = list_blocks (ps);
  gsize values = 0;
  guint i, c;

  for (i = 0; i < blocks->len; i++)
    {
      const Block *b = &g_array_index (blocks, Block, i);

      for (c = b->first; c < b->first + b->nc; c++)
        if (ps->post_index[c] != G_MAXUINT)
          values += (gsize) b->n;
    }
  if (values == 0 || values * sizeof (float) > keep_max_bytes)
    return;
  ps->kept_mem = g_try_new (float, values);
  if (ps->kept_mem == NULL)
    return;
  ps->kept = g_new0 (float *, (gsize) blocks->len * BLOCK_CHANNELS);
  for (i = 0, values = 0; i < blocks->len; i++)
    {
      const Block *b = &g_array_index (blocks, Block, i);

      for (c = b->first; c < b->first + b->nc; c++)
        if (ps->post_index[c] != G_MAXUINT)
          {
            ps->kept[(gsize) i * BLOCK_CHANNELS + c - b->first]
              = ps->kept_mem + values;
            values += (gsize) b->n;
          }
    }
}

/* Reads the recording in blocks, the next while the workers are on the
 * current one; pass 0 builds the templates and the pres' own windows,
 * pass 1 the pair sums of the block's posts, judged once all their
 * blocks are read. */
static gboolean
stream (Psc           *ps,
        guint          pass,
        GCancellable  *cancellable,
        GError       **error)
{
  g_autoptr(GArray) blocks = list_blocks (ps);
  gsize buf_len = (gsize) MIN (BLOCK_CHANNELS, ps->n_channels)
                  * (gsize) ps->n_max;
  g_autofree float *buf0 = g_new (float, buf_len);
  g_autofree float *buf1 = g_new (float, buf_len);
  Reading rd[2] = { { ps->rec, NULL, buf0, TRUE, NULL, 0 },
                    { ps->rec, NULL, buf1, TRUE, NULL, 0 } };
  GThread *reader = NULL;
  gboolean ok = TRUE;
  /* the second pass has what it needs when the first kept it */
  gboolean reading = pass == PASS_TEMPLATE || ps->kept == NULL;
  guint i;

  ps->pass = pass;
  if (blocks->len > 0 && reading)
    {
      rd[0].b = &g_array_index (blocks, Block, 0);
      read_worker (&rd[0]);
    }
  for (i = 0; i < blocks->len && ok; i++)
    {
      const Block *b = &g_array_index (blocks, Block, i);
      Reading *cur = &rd[i % 2], *next = &rd[(i + 1) % 2];

      if (reader != NULL)
        g_thread_join (g_steal_pointer (&reader));
      ps->read_us += cur->us;
      if (!cur->ok)
        {
          g_propagate_error (error, g_steal_pointer (&cur->error));
          ok = FALSE;
          break;
        }
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        {
          ok = FALSE;
          break;
        }
      if (i + 1 < blocks->len && reading)
        {
          next->b = &g_array_index (blocks, Block, i + 1);
          next->ok = TRUE;
          reader = g_thread_new ("imp-psc-read", read_worker, next);
        }

      ps->first = b->first;
      ps->block = i;
      if (pass == PASS_PAIRS && b->opens)
        {
          memset (ps->acc, 0, sizeof (float) * b->nc * ps->n_pre * ps->n_acc);
          size_out (ps, b);
        }
      if (b->n > 0)
        {
          ps->buf = cur->buf;
          ps->r0 = b->r0;
          ps->n = b->n;
          ps->t0 = b->t0;
          ps->t1 = b->t1;
          if (pass == PASS_PAIRS)
            find_block_aps (ps);
          parallel_channels (ps, b->nc);
          ps->done += (b->t1 - b->t0) * b->nc;
          if (ps->progress != NULL)
            ps->progress ((double) ps->done / MAX (ps->total, 1),
                          "Testing waveforms", ps->user_data);
        }
      if (pass == PASS_PAIRS && b->closes)
        {
          ps->pass = PASS_JUDGE;
          parallel_channels (ps, b->nc);
          ps->pass = pass;
          if (ps->out->len > 0)
            ps->func ((const ImpPscTest *) ps->out->data, ps->out->len,
                      ps->func_data);
        }
    }
  if (reader != NULL)
    g_thread_join (reader);
  g_clear_error (&rd[0].error);
  g_clear_error (&rd[1].error);
  return ok;
}

/* p of the largest of @m two-sided t statistics with @df degrees of
 * freedom (Šidák). */
static double
scan_p (double z,
        double df,
        double m)
{
  double p1 = 2 * gsl_cdf_tdist_Q (fabs (z), MAX (df, 1));

  p1 = MIN (p1, 1.0);
  return -expm1 (m * log1p (-MIN (p1, 1 - 1e-16)));
}

static double
mean_var (double  n,
          double  sum,
          double  sum2,
          double *var)
{
  double mean = sum / n;

  *var = (sum2 - n * mean * mean) / (n - 1);
  return mean;
}

/* The variance of the mean of the @n trials of one delay (@a: its M_
 * sums), cluster-robust since trials of one burst are not independent;
 * but never below @var0 / n, what n independent trials of the post's
 * null variance @var0 would give. */
static inline double
floored_var (double num,
             double n,
             double g,
             double var0)
{
  return fmax (num / (n * n) * g / (g - 1), var0 / n);
}

static inline double
main_var (const double *a,
          double        var0)
{
  double n = a[M_N], mean = a[M_S] / n;

  return floored_var (a[M_Q] - 2 * mean * a[M_R] + mean * mean * a[M_N2],
                      n, a[M_G], var0);
}

/* The squared t statistic of each main delay's mean less the post's
 * null mean there @mu0 and the crosstalk @c times the pre's own window
 * means @am, -1 where there is none; in a
 * loop without branches or square roots, which vectorises. The variance
 * is main_var()'s. */
static void
main_t2 (const float  *restrict acc,
         const double *restrict am,
         double                 c,
         const double *restrict mu0,
         double                 var0,
         gsize                  m,
         double       *restrict t2)
{
  gsize j;

  for (j = 0; j < m; j++)
    {
      double n = acc[M_N * m + j], g = acc[M_G * m + j];
      double mean = acc[M_S * m + j] / n;
      double num = acc[M_Q * m + j] - 2 * mean * acc[M_R * m + j]
                   + mean * mean * acc[M_N2 * m + j];
      double dm = mean - mu0[j] - c * am[j];
      double v = dm * dm / floored_var (num, n, g, var0);

      t2[j] = g >= 3 && num > 0 ? v : -1;
    }
}

/* The mean of channel @ch's trial sums at each main delay under the null
 * into @mu0, 0 where there were too few to tell: not 0 where windows next
 * to its own APs, which are left out, differ from the rest (a cell that
 * fires fast, its template poor or missing). */
static void
null_means (const Psc *ps,
            guint      ch,
            double    *mu0)
{
  const double *s = ps->null_sums + (gsize) ch * ps->null_len;
  guint j;

  for (j = 0; j < ps->n_main; j++)
    mu0[j] = s[2 * j] >= NULL_MIN_N ? s[2 * j + 1] / s[2 * j] : 0;
}

/* The variance of channel @ch's trial sums under the null, 0 when there
 * were too few to tell. */
static double
null_var (const Psc *ps,
          guint      ch)
{
  const double *s = ps->null_sums + (gsize) ch * ps->null_len;
  double mean;

  if (s[0] < NULL_MIN_N)
    return 0;
  mean = s[1] / s[0];
  return MAX (s[2 * ps->n_main] / s[0] - mean * mean, 0.0);
}

/* The squared t statistic of each lead delay's mean where it has the sign
 * @sign, else 0. */
static void
lead_t2 (const float *restrict lead,
         double                sign,
         gsize                 m,
         double      *restrict t2)
{
  gsize j;

  for (j = 0; j < m; j++)
    {
      double n = lead[L_N * m + j];
      double mean = lead[L_S * m + j] / n;
      double var = (lead[L_S2 * m + j] - n * mean * mean) / (n - 1);
      double v = sign * mean;

      t2[j] = n >= 3 && var > 0 && v > 0 ? v * v * n / var : 0;
    }
}

static void
judge_pair (const Psc  *ps,
            Scratch    *sc,
            guint       pi,
            guint       post_ch,
            ImpPscTest *t)
{
  const float *acc = pair_acc (ps, post_ch, pi);
  const float *lead = acc + N_MAIN_ACC * ps->n_main;
  const float *zero = lead + N_LEAD_ACC * ps->n_lead;
  guint m = ps->n_main, pre = ps->pres[pi];
  const double *am = ps->auto_mean + (gsize) pi * ps->n_main;
  double txx = ps->tpl_xx[pi], tsum = ps->tpl_sum[pi];
  double c = 0, best = 0, best2 = 0, m_eff, df = 1, var0;
  double *t2 = sc->t2, *mu0 = sc->y;
  guint j, jb = G_MAXUINT;

  memset (t, 0, sizeof *t);
  t->pre = pre;
  t->post = post_ch;
  t->p = 1.0;

  /* Crosstalk: the pre's own AP (its template), scaled, at lags where no
   * synapse can answer yet; removed only when it stands out of the noise,
   * since a coupling lost in the noise would add the AP's shape, scaled
   * by noise, to the windows just after it. */
  if (ps->tpl_n[pre] > 0 && txx > 0 && zero[Z_N] > 2)
    {
      double var_p, var_s;
      double mp = mean_var (zero[Z_N], zero[Z_P], zero[Z_P2], &var_p);
      double ms;

      c = mp / txx;
      if (fabs (c) < CROSSTALK_T * sqrt (MAX (var_p, 0) / zero[Z_N]) / txx)
        c = 0;
      /* What the crosstalk leaves at zero latency. */
      ms = mean_var (zero[Z_N], zero[Z_S], zero[Z_S2], &var_s);
      t->zero_mv = ms - c * tsum;
      if (var_s > 0)
        t->z_zero = t->zero_mv / sqrt (var_s / zero[Z_N]);
    }
  t->crosstalk = c;

  var0 = null_var (ps, post_ch);
  null_means (ps, post_ch, mu0);
  main_t2 (acc, am, c, mu0, var0, m, t2);
  for (j = 0; j < m; j++)
    if (t2[j] > best2)
      {
        best2 = t2[j];
        jb = j;
      }
  if (jb != G_MAXUINT)
    {
      double a[N_MAIN_ACC];
      double mean;
      guint i;

      for (i = 0; i < N_MAIN_ACC; i++)
        a[i] = acc[i * m + jb];
      mean = a[M_S] / a[M_N];
      best = (mean - mu0[jb] - c * am[jb]) / sqrt (main_var (a, var0));
      t->delay_ms = (ps->lo + (gint64) jb * ps->d_step) * 1000.0 / ps->fs;
      t->charge_mv = mean - mu0[jb] - c * am[jb];
      t->n_trials = (guint) a[M_N];
      df = a[M_G] - 1;
    }
  t->z = best;
  /* A transient at zero latency as large as half the response, and
   * clearly there, is no synapse's doing. */
  t->transient = fabs (t->z_zero) >= IMP_PSC_TRANSIENT_Z
                 && fabs (t->zero_mv) >= IMP_PSC_TRANSIENT_FRACTION
                                         * fabs (t->charge_mv);
  if (t->n_trials < 3)
    return;
  /* The delays scanned overlap: as many tests as they make apart. */
  m_eff = ps->m_eff[post_ch];
  t->p = scan_p (best, df, m_eff);

  /* Common input: the same sign already before the AP. */
  lead_t2 (lead, best < 0 ? -1 : 1, ps->n_lead, t2);
  for (j = 0, best2 = 0; j < ps->n_lead; j++)
    best2 = MAX (best2, t2[j]);
  t->z_lead = sqrt (best2);
  t->common_input = t->z_lead >= ps->p->common_input_z;
}

/* After pass 0: the templates' means, each pre's template at the
 * zero-latency lags as the pair trials project on it, and the means of
 * its own windows (what its crosstalk carries). */
static void
finish_templates (Psc *ps)
{
  gint64 zlen = ps->zero_to - ps->zero_from, u;
  guint c, pi;

  for (c = 0; c < ps->n_channels; c++)
    if (ps->tpl_n[c] > 0)
      for (u = 0; u < ps->tpl_len; u++)
        ps->tpl[(gsize) c * ps->tpl_len + u] /= ps->tpl_n[c];
  for (pi = 0; pi < ps->n_pre; pi++)
    {
      const double *tz = ps->tpl + (gsize) ps->pres[pi] * ps->tpl_len
                         + ps->tpl_pre + ps->zero_from;
      const double *aw = ps->auto_win + (gsize) pi * ps->n_main * 2;
      double *am = ps->auto_mean + (gsize) pi * ps->n_main;
      guint j;

      for (j = 0; j < ps->n_main; j++)
        if (aw[2 * j + 1] > 0)
          am[j] = aw[2 * j] / aw[2 * j + 1];

      for (u = 0; u < zlen; u++)
        {
          ps->tpl_zero[(gsize) pi * ps->zero_pad + u] = (float) tz[u];
          ps->tpl_zero_sum[pi] += (float) tz[u];
          ps->tpl_xx[pi] += tz[u] * tz[u];
          ps->tpl_sum[pi] += tz[u];
        }
    }
}

static guint
round_up (guint n,
          guint m)
{
  return (n + m - 1) / m * m;
}

/* Processor time of the whole process, all threads, in seconds. */
static double
process_cpu_s (void)
{
  struct timespec ts;

  if (clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &ts) != 0)
    return 0;
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

/**
 * imp_psc_run:
 * @recording: the recording
 * @params: the analysis parameters (normalised)
 * @ap_times: (array): per channel, the AP peak samples (gint64, sorted)
 * @is_pre: (array): per channel, whether it is tested as presynaptic
 * @is_post: (array): per channel, whether it is tested as postsynaptic
 * @func: (scope call): called from this thread with the tests of each
 *   group of posts as soon as they are judged, by post and then pre (the
 *   tests are valid during the call only)
 * @func_data: for @func
 * @progress: (nullable) (scope call): called from this thread after each
 *   block with the fraction done
 * @user_data: for @progress
 * @cancellable: (nullable): checked at every block
 * @error: return location for a #GError
 *
 * The waveform test of every ordered pair (pre, post), pre ≠ post
 * (docs/analysis.md). Reads the recording twice, a block at a time (once
 * when the posts' deconvolved samples are small enough to keep); the
 * pair sums and the tests are kept only for the posts of the block being
 * read, so memory does not grow with the number of pairs.
 *
 * Returns: %TRUE when every pair was tested, else %FALSE with @error set
 */
gboolean
imp_psc_run (ImpRecording             *recording,
             const ImpAnalysisParams  *params,
             GArray                  **ap_times,
             const gboolean           *is_pre,
             const gboolean           *is_post,
             ImpPscFunc                func,
             gpointer                  func_data,
             ImpProgressFunc           progress,
             gpointer                  user_data,
             GCancellable             *cancellable,
             GError                  **error)
{
  Psc ps = { 0 };
  gboolean ok = FALSE;
  gint64 start = g_get_monotonic_time ();
  double cpu_start = process_cpu_s ();
  gsize n_aps;
  guint c;

  g_return_val_if_fail (recording != NULL, FALSE);
  g_return_val_if_fail (params != NULL, FALSE);
  g_return_val_if_fail (func != NULL, FALSE);

  ps.rec = recording;
  ps.func = func;
  ps.func_data = func_data;
  ps.p = params;
  ps.fs = imp_recording_get_sample_rate (recording);
  ps.n_channels = imp_recording_get_n_channels (recording);
  ps.ap_times = ap_times;
  ps.progress = progress;
  ps.user_data = user_data;
  ps.total = 2 * imp_recording_get_n_samples (recording) * ps.n_channels;
  ps.pre_index = g_new (guint, ps.n_channels);
  ps.post_index = g_new (guint, ps.n_channels);
  ps.pres = g_new (guint, MAX (ps.n_channels, 1));
  for (c = 0; c < ps.n_channels; c++)
    {
      ps.pre_index[c] = is_pre[c] ? ps.n_pre : G_MAXUINT;
      if (is_pre[c])
        ps.pres[ps.n_pre++] = c;
      ps.post_index[c] = is_post[c] ? ps.n_post++ : G_MAXUINT;
    }

  ps.a = exp (-1000.0 / (ps.fs * params->deconv_tau_ms));
  ps.box = (gsize) MAX (1, to_samples (SMOOTH_MS, ps.fs));
  ps.w = MAX (1, to_samples (params->psc_window_ms, ps.fs));
  ps.lo = (gint64) ceil (params->latency_min_ms * ps.fs / 1000.0);
  ps.hi = (gint64) floor (params->latency_max_ms * ps.fs / 1000.0);
  ps.d_step = MAX (1, ps.w / 4);
  ps.n_main = (guint) ((ps.hi - ps.lo) / ps.d_step + 1);
  ps.lead = MAX (ps.w + to_samples (LEAD_GAP_MS, ps.fs) + 1,
                 to_samples (params->lead_ms, ps.fs));
  ps.n_lead = (guint) ((ps.lead - ps.w - to_samples (LEAD_GAP_MS, ps.fs))
                       / ps.d_step + 1);
  ps.post_len = ps.hi + ps.w + 1;
  ps.flank = MAX (2, to_samples (params->baseline_ms, ps.fs));
  ps.zero_from = -to_samples (ZERO_FROM_MS, ps.fs);
  ps.zero_to = MAX (ps.zero_from + 1, ps.lo);
  ps.zero_len = ps.zero_to - ps.zero_from;
  ps.tpl_pre = MAX (to_samples (TEMPLATE_PRE_MS, ps.fs), -ps.zero_from);
  ps.tpl_len = ps.tpl_pre + MAX (to_samples (TEMPLATE_MS, ps.fs),
                                 ps.post_len);
  ps.blank_pre = to_samples (BLANK_PRE_MS, ps.fs);
  ps.blank_post = to_samples (params->ap_blank_ms, ps.fs);
  ps.n_acc = N_MAIN_ACC * ps.n_main + N_LEAD_ACC * ps.n_lead + N_ZERO;
  ps.main_pad = round_up (ps.n_main, ROW_ALIGN);
  ps.lead_pad = round_up (ps.n_lead, ROW_ALIGN);
  ps.zero_pad = round_up ((guint) (ps.zero_to - ps.zero_from), ROW_ALIGN);
  ps.n_max = block_len (&ps) + 2 * block_pad (&ps);
  /* A row of ROW_ALIGN-padded delays may start at the last window. */
  ps.n_phase = ps.n_max / ps.d_step + ROW_ALIGN + 1;

  ps.acc = g_try_new0 (float, (gsize) MIN (BLOCK_CHANNELS, ps.n_channels)
                               * ps.n_pre * ps.n_acc);
  if (ps.acc == NULL && (gsize) ps.n_pre * ps.n_post > 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE,
                   "Not enough memory for the waveform test of %u × %u "
                   "pairs", ps.n_pre, ps.n_post);
      goto out;
    }
  ps.tpl = g_new0 (double, (gsize) ps.n_channels * ps.tpl_len);
  ps.auto_win = g_new0 (double, (gsize) ps.n_pre * ps.n_main * 2);
  ps.tpl_n = g_new0 (guint, ps.n_channels);
  ps.tpl_zero = g_new0 (float, (gsize) ps.n_pre * ps.zero_pad);
  ps.tpl_zero_sum = g_new0 (double, MAX (ps.n_pre, 1));
  ps.tpl_xx = g_new0 (double, MAX (ps.n_pre, 1));
  ps.auto_mean = g_new0 (double, (gsize) ps.n_pre * ps.n_main);
  ps.null_len = 2 * (gsize) ps.n_main + 1;
  ps.null_sums = g_new0 (double, ps.n_channels * ps.null_len);
  /* (more delays than that, an unusual window, count them all) */
  ps.n_cov = 1 + ps.n_main + (gsize) ps.n_main * (ps.n_main + 1) / 2;
  if (ps.n_main <= NULL_COV_MAX)
    ps.null_cov = g_new0 (double, ps.n_channels * ps.n_cov);
  ps.m_eff = g_new0 (double, ps.n_channels);
  ps.tpl_sum = g_new0 (double, MAX (ps.n_pre, 1));
  ps.bk = g_new0 (guint, ps.n_pre + 1);
  for (c = 0, n_aps = 0; c < ps.n_pre; c++)
    n_aps += ap_times[ps.pres[c]]->len;
  ps.block_aps = g_new (BlockAp, MAX (n_aps, 1));
  ps.scratch = g_new0 (gpointer, MAX_THREADS);
  ps.out_at = g_new0 (gsize, ps.n_channels);
  ps.out = g_array_new (FALSE, FALSE, sizeof (ImpPscTest));

  plan_keeping (&ps);
  if (!stream (&ps, PASS_TEMPLATE, cancellable, error))
    goto out;
  finish_templates (&ps);
  ok = stream (&ps, PASS_PAIRS, cancellable, error);
  g_debug ("Waveform test of %u × %u cells: %.2f s, %.2f s of processor "
           "time, %.2f s reading alongside", ps.n_pre, ps.n_post,
           (g_get_monotonic_time () - start) / 1e6,
           process_cpu_s () - cpu_start, ps.read_us / 1e6);

out:
  if (ps.out != NULL)
    g_array_unref (ps.out);
  g_free (ps.pre_index);
  g_free (ps.post_index);
  g_free (ps.pres);
  g_free (ps.acc);
  g_free (ps.tpl);
  g_free (ps.auto_win);
  g_free (ps.tpl_n);
  g_free (ps.tpl_zero);
  g_free (ps.tpl_zero_sum);
  g_free (ps.tpl_xx);
  g_free (ps.auto_mean);
  g_free (ps.null_sums);
  g_free (ps.null_cov);
  g_free (ps.m_eff);
  g_free (ps.tpl_sum);
  g_free (ps.bk);
  g_free (ps.block_aps);
  g_free (ps.out_at);
  g_free (ps.kept);
  g_free (ps.kept_mem);
  for (c = 0; c < MAX_THREADS && ps.scratch != NULL; c++)
    scratch_free (ps.scratch[c]);
  g_free (ps.scratch);
  return ok;
}

static void
collect_tests (const ImpPscTest *tests,
               guint             n_tests,
               gpointer          data)
{
  g_array_append_vals (data, tests, n_tests);
}

/**
 * imp_psc_test_pairs:
 * @recording: the recording
 * @params: the analysis parameters (normalised)
 * @ap_times: (array): per channel, the AP peak samples (gint64, sorted)
 * @is_pre: (array): per channel, whether it is tested as presynaptic
 * @is_post: (array): per channel, whether it is tested as postsynaptic
 * @progress: (nullable) (scope call): as for imp_psc_run()
 * @user_data: for @progress
 * @cancellable: (nullable): checked at every block
 * @error: return location for a #GError
 *
 * imp_psc_run(), with every test collected in one array.
 *
 * Returns: (transfer full) (element-type ImpPscTest) (nullable): the
 *   tests, by post and then pre, or %NULL with @error set
 */
GArray *
imp_psc_test_pairs (ImpRecording             *recording,
                    const ImpAnalysisParams  *params,
                    GArray                  **ap_times,
                    const gboolean           *is_pre,
                    const gboolean           *is_post,
                    ImpProgressFunc           progress,
                    gpointer                  user_data,
                    GCancellable             *cancellable,
                    GError                  **error)
{
  g_autoptr(GArray) tests = g_array_new (FALSE, FALSE, sizeof (ImpPscTest));

  if (!imp_psc_run (recording, params, ap_times, is_pre, is_post,
                    collect_tests, tests, progress, user_data, cancellable,
                    error))
    return NULL;
  return g_steal_pointer (&tests);
}

/**
 * _imp_psc_set_keep_max_bytes:
 * @bytes: the most the first pass may keep for the second; 0 to always
 *   read the recording twice
 *
 * For tests, which check both ways against the reference. Not thread
 * safe: call it before any test of pairs runs.
 */
void
_imp_psc_set_keep_max_bytes (gsize bytes)
{
  keep_max_bytes = bytes;
}
