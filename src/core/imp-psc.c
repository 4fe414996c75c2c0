/* imp-psc.c
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <math.h>
#include <string.h>

#include <gsl/gsl_cdf.h>

#include "imp-detect.h"
#include "imp-psc.h"

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

/* Per (pre, post) and delay: trials, sum and sum of squares of the window
 * sums; the same for isolated APs (no other pre AP before them within the
 * whole window). */
enum { A_N, A_S, A_S2, A_IN, A_IS, A_IS2, N_ACC };

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
  gint64   w, lead, post_len, flank, pad;
  gint64   lo, hi;        /* main delays */
  gint64   d_step;
  guint    n_d;           /* delays from -lead */
  gint64   zero_from, zero_to;
  gint64   tpl_pre, tpl_len, blank_pre, blank_post;
  /* accumulators */
  double  *acc;           /* n_pre × n_post × n_d × N_ACC */
  double  *zero;          /* n_pre × n_post × zlen × 2 (sum, count) */
  double  *auto_zero;     /* n_pre × zlen × 2 */
  double  *auto_win;      /* n_pre × n_d × 2 (sum, count) */
  double  *tpl;           /* n_channels × tpl_len, own AP template */
  guint   *tpl_n;
} Psc;

static inline gint64
to_samples (double ms,
            double fs)
{
  return (gint64) llround (ms * fs / 1000.0);
}

/* Deconvolves x[0..n) towards synaptic current, d[i] = x[i] - a x[i-1],
 * and smooths d by a centred boxcar of @box samples (the sum of d over a
 * window telescopes to little more than the difference of its end
 * samples, whose white noise the boxcar averages). A sample whose box
 * touches a gap is NAN. @tmp holds n values. */
static void
deconvolve (const float *x,
            gsize        n,
            double       a,
            gsize        box,
            float       *tmp,
            float       *d)
{
  double sum = 0;
  gsize i, bad = 0, half = box / 2;

  if (n == 0)
    return;
  tmp[0] = NAN;
  for (i = 1; i < n; i++)
    tmp[i] = imp_detect_usable (x[i]) && imp_detect_usable (x[i - 1])
             ? (float) (x[i] - a * x[i - 1]) : NAN;
  for (i = 0; i < n; i++)
    d[i] = NAN;
  for (i = 0; i < n; i++)
    {
      if (isfinite (tmp[i]))
        sum += tmp[i];
      else
        bad++;
      if (i >= box)
        {
          if (isfinite (tmp[i - box]))
            sum -= tmp[i - box];
          else
            bad--;
        }
      if (i + 1 >= box && bad == 0)
        d[i + 1 - box + half] = (float) (sum / box);
      /* Rounding would creep over a long block. */
      if (bad == 0 && i % 4096 == 0 && i + 1 >= box)
        {
          gsize k;

          sum = 0;
          for (k = i + 1 - box; k <= i; k++)
            sum += tmp[k];
        }
    }
}

/* Mean of the usable d over the flanks [c - lead - flank, c - lead) and
 * [c + post_len, c + post_len + flank); NAN when too few are usable. */
static double
flank_mean (const Psc   *ps,
            const float *d,
            gint64       c)
{
  double sum = 0;
  gint64 n = 0, i;

  for (i = c - ps->lead - ps->flank; i < c - ps->lead; i++)
    if (isfinite (d[i]))
      sum += d[i], n++;
  for (i = c + ps->post_len; i < c + ps->post_len + ps->flank; i++)
    if (isfinite (d[i]))
      sum += d[i], n++;
  if (n < MIN_FLANK * 2 * ps->flank)
    return NAN;
  return sum / n;
}

static gboolean
fits (const Psc *ps,
      gint64     c,
      gint64     n)
{
  return c - ps->lead - ps->flank >= 0
         && c + ps->post_len + ps->flank <= n;
}

/* Pass 1: the cell's own AP and AHP in d, from isolated APs. */
static void
add_template (Psc         *ps,
              guint        ch,
              const float *d,
              gint64       n,
              gint64       r0,
              gint64       t0,
              gint64       t1)
{
  GArray *aps = ps->ap_times[ch];
  const gint64 *at = (const gint64 *) aps->data;
  double *tpl = ps->tpl + (gsize) ch * ps->tpl_len;
  guint k = imp_detect_lower_bound (at, aps->len, t0);

  for (; k < aps->len && at[k] < t1; k++)
    {
      gint64 c = at[k] - r0, u;
      double base = 0;
      gint64 nb = 0;

      if ((k > 0 && at[k] - at[k - 1] < ps->tpl_len)
          || (k + 1 < aps->len && at[k + 1] - at[k] < ps->tpl_len))
        continue;
      if (c - ps->tpl_pre - ps->flank < 0 || c + ps->tpl_len > n)
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

/* Pass 2, per channel: subtract the template at every own AP (blanking
 * around each follows). */
static void
remove_own_aps (Psc    *ps,
                guint   ch,
                float  *d,
                gint64  n,
                gint64  r0)
{
  GArray *aps = ps->ap_times[ch];
  const gint64 *at = (const gint64 *) aps->data;
  const double *tpl = ps->tpl + (gsize) ch * ps->tpl_len;
  guint k = imp_detect_lower_bound (at, aps->len, r0 - ps->tpl_len);

  if (ps->tpl_n[ch] > 0)
    for (guint j = k; j < aps->len && at[j] - ps->tpl_pre < r0 + n; j++)
      {
        gint64 u;

        for (u = 0; u < ps->tpl_len; u++)
          {
            gint64 i = at[j] - r0 - ps->tpl_pre + u;

            if (i >= 0 && i < n)
              d[i] -= (float) tpl[u];
          }
      }
}

static void
blank_own_aps (Psc    *ps,
               guint   ch,
               float  *d,
               gint64  n,
               gint64  r0)
{
  GArray *aps = ps->ap_times[ch];
  const gint64 *at = (const gint64 *) aps->data;
  guint k = imp_detect_lower_bound (at, aps->len, r0 - ps->blank_post);

  for (; k < aps->len && at[k] - ps->blank_pre < r0 + n; k++)
    {
      gint64 i;

      for (i = at[k] - ps->blank_pre; i <= at[k] + ps->blank_post; i++)
        if (i - r0 >= 0 && i - r0 < n)
          d[i - r0] = NAN;
    }
}

/* Window sums of (d - base) over [D, D + w) for every delay D, from
 * -lead; NAN where a sample is blanked. */
static void
window_sums (const Psc   *ps,
             const float *d,
             gint64       c,
             double       base,
             double      *prefix,
             guint       *bad,
             double      *y)
{
  gint64 len = ps->lead + ps->post_len, l;
  guint j;

  prefix[0] = 0;
  bad[0] = 0;
  for (l = 0; l < len; l++)
    {
      float v = d[c - ps->lead + l];

      prefix[l + 1] = prefix[l] + (isfinite (v) ? v - base : 0);
      bad[l + 1] = bad[l] + !isfinite (v);
    }
  for (j = 0; j < ps->n_d; j++)
    {
      gint64 s = (gint64) j * ps->d_step, e = s + ps->w;

      y[j] = e <= len && bad[e] == bad[s] ? prefix[e] - prefix[s] : NAN;
    }
}

/* Pass 2: every pre AP in [t0, t1) against post channel @ch. */
static void
add_pairs (Psc         *ps,
           guint        ch,
           const float *d,
           const float *clean,
           gint64       n,
           gint64       r0,
           gint64       t0,
           gint64       t1)
{
  gint64 zlen = ps->zero_to - ps->zero_from;
  gint64 len = ps->lead + ps->post_len;
  g_autofree double *prefix = g_new (double, len + 1);
  g_autofree guint *bad = g_new (guint, len + 1);
  g_autofree double *y = g_new (double, ps->n_d);
  guint pi, j;

  for (pi = 0; pi < ps->n_pre; pi++)
    {
      guint pre = ps->pres[pi];
      GArray *aps = ps->ap_times[pre];
      const gint64 *at = (const gint64 *) aps->data;
      guint k = imp_detect_lower_bound (at, aps->len, t0);
      gboolean self = pre == ch;
      const float *src = self ? clean : d;
      guint post = ps->post_index[ch];

      if (!self && post == G_MAXUINT)
        continue;
      for (; k < aps->len && at[k] < t1; k++)
        {
          gint64 c = at[k] - r0, l;
          gboolean isolated;
          double base;

          if (!fits (ps, c, n))
            continue;
          base = flank_mean (ps, src, c);
          if (!isfinite (base))
            continue;
          isolated = k == 0 || at[k] - at[k - 1] > len;
          window_sums (ps, src, c, base, prefix, bad, y);

          if (self)
            {
              double *az = ps->auto_zero + (gsize) pi * zlen * 2;
              double *aw = ps->auto_win + (gsize) pi * ps->n_d * 2;

              for (l = 0; l < zlen; l++)
                if (isfinite (src[c + ps->zero_from + l]))
                  {
                    az[2 * l] += src[c + ps->zero_from + l] - base;
                    az[2 * l + 1] += 1;
                  }
              for (j = 0; j < ps->n_d; j++)
                if (isfinite (y[j]))
                  {
                    aw[2 * j] += y[j];
                    aw[2 * j + 1] += 1;
                  }
              continue;
            }

          {
            gsize pair = (gsize) pi * ps->n_post + post;
            double *acc = ps->acc + pair * ps->n_d * N_ACC;
            double *z = ps->zero + pair * zlen * 2;

            for (l = 0; l < zlen; l++)
              if (isfinite (d[c + ps->zero_from + l]))
                {
                  z[2 * l] += d[c + ps->zero_from + l] - base;
                  z[2 * l + 1] += 1;
                }
            for (j = 0; j < ps->n_d; j++)
              {
                double *a = acc + (gsize) j * N_ACC;

                if (!isfinite (y[j]))
                  continue;
                a[A_N] += 1;
                a[A_S] += y[j];
                a[A_S2] += y[j] * y[j];
                if (isolated)
                  {
                    a[A_IN] += 1;
                    a[A_IS] += y[j];
                    a[A_IS2] += y[j] * y[j];
                  }
              }
          }
        }
    }
}

/* Reads the recording in blocks of channels and time, padded, within each
 * sweep; pass 0 builds the templates, pass 1 the pair sums. */
static gboolean
stream (Psc           *ps,
        guint          pass,
        GCancellable  *cancellable,
        GError       **error)
{
  gint64 block = (gint64) (BLOCK_S * ps->fs);
  gint64 pad = ps->pad;
  g_autofree float *buf = NULL;
  g_autofree float *d = NULL;
  g_autofree float *clean = NULL;
  g_autofree float *tmp = NULL;
  gsize box = (gsize) MAX (1, to_samples (SMOOTH_MS, ps->fs));
  guint first, s;

  buf = g_new (float, (gsize) MIN (BLOCK_CHANNELS, ps->n_channels)
                      * (gsize) (block + 2 * pad));
  d = g_new (float, (gsize) (block + 2 * pad));
  clean = g_new (float, (gsize) (block + 2 * pad));
  tmp = g_new (float, (gsize) (block + 2 * pad));

  for (first = 0; first < ps->n_channels; first += BLOCK_CHANNELS)
    {
      guint nc = MIN (BLOCK_CHANNELS, ps->n_channels - first), c;
      gboolean wanted = FALSE;

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
              gint64 t1 = MIN (t0 + block, end);
              gint64 r0 = MAX (sw->start_sample, t0 - pad);
              gint64 r1 = MIN (end, t1 + pad);
              gint64 n = r1 - r0;

              if (g_cancellable_set_error_if_cancelled (cancellable, error)
                  || !imp_recording_read (ps->rec, first, nc, r0, n, buf,
                                          error))
                return FALSE;
              for (c = first; c < first + nc; c++)
                {
                  if (ps->post_index[c] == G_MAXUINT
                      && ps->pre_index[c] == G_MAXUINT)
                    continue;
                  deconvolve (buf + (gsize) (c - first) * n, n, ps->a, box, tmp,
                              d);
                  if (pass == 0)
                    {
                      add_template (ps, c, d, n, r0, t0, t1);
                      continue;
                    }
                  /* The raw copy is what crosstalk carries to others. */
                  memcpy (clean, d, sizeof (float) * n);
                  remove_own_aps (ps, c, d, n, r0);
                  blank_own_aps (ps, c, d, n, r0);
                  add_pairs (ps, c, d, clean, n, r0, t0, t1);
                }
            }
        }
    }
  return TRUE;
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

static void
judge_pair (const Psc  *ps,
            guint       pi,
            guint       post_ch,
            ImpPscTest *t)
{
  gint64 zlen = ps->zero_to - ps->zero_from, l;
  gsize pair = (gsize) pi * ps->n_post + ps->post_index[post_ch];
  const double *acc = ps->acc + pair * ps->n_d * N_ACC;
  const double *z = ps->zero + pair * zlen * 2;
  const double *az = ps->auto_zero + (gsize) pi * zlen * 2;
  const double *aw = ps->auto_win + (gsize) pi * ps->n_d * 2;
  double sxy = 0, sxx = 0, c = 0, best = 0, m_eff;
  guint j;

  memset (t, 0, sizeof *t);
  t->pre = ps->pres[pi];
  t->post = post_ch;
  t->p = 1.0;

  /* Crosstalk: the pre's own AP, scaled, at lags where no synapse can
   * answer yet. */
  for (l = 0; l < zlen; l++)
    if (z[2 * l + 1] > 0 && az[2 * l + 1] > 0)
      {
        double x = az[2 * l] / az[2 * l + 1];

        sxy += x * z[2 * l] / z[2 * l + 1];
        sxx += x * x;
      }
  /* A coupling lost in the noise would add the AP's shape, scaled by
   * noise, to the windows just after it; the noise of a lag's mean comes
   * from the spread of the earliest window's sums. */
  if (sxx > 0 && acc[A_N] > 2)
    {
      double mean = acc[A_S] / acc[A_N];
      double var = (acc[A_S2] - acc[A_N] * mean * mean) / (acc[A_N] - 1);
      double se = sqrt (MAX (var, 0.0) / ps->w / acc[A_N] / sxx);

      c = sxy / sxx;
      if (fabs (c) < CROSSTALK_T * se)
        c = 0;
    }
  t->crosstalk = c;

  /* What the crosstalk leaves at zero latency: the sum over the zero
   * lags, whose noise is about that of any window sum (d telescopes). */
  if (acc[A_N] > 2)
    {
      double mean = acc[A_S] / acc[A_N], res = 0;
      double var = (acc[A_S2] - acc[A_N] * mean * mean) / (acc[A_N] - 1);

      for (l = 0; l < zlen; l++)
        if (z[2 * l + 1] > 0)
          res += z[2 * l] / z[2 * l + 1]
                 - (az[2 * l + 1] > 0 ? c * az[2 * l] / az[2 * l + 1] : 0);
      if (var > 0)
        t->z_zero = res / sqrt (var / acc[A_N]);
      t->transient = fabs (t->z_zero) >= IMP_PSC_TRANSIENT_Z;
    }

  for (j = 0; j < ps->n_d; j++)
    {
      const double *a = acc + (gsize) j * N_ACC;
      gint64 D = -ps->lead + (gint64) j * ps->d_step;
      double mean, var, tz, xt;

      if (D < ps->lo || D > ps->hi || a[A_N] < 3)
        continue;
      xt = aw[2 * j + 1] > 0 ? c * aw[2 * j] / aw[2 * j + 1] : 0;
      mean = a[A_S] / a[A_N];
      var = (a[A_S2] - a[A_N] * mean * mean) / (a[A_N] - 1);
      if (!(var > 0))
        continue;
      tz = (mean - xt) / sqrt (var / a[A_N]);
      if (fabs (tz) > fabs (best))
        {
          best = tz;
          t->delay_ms = D * 1000.0 / ps->fs;
          t->charge_mv = mean - xt;
          t->n_trials = (guint) a[A_N];
        }
    }
  t->z = best;
  if (t->n_trials < 3)
    return;
  /* A window sum of d is dominated by its end samples (d telescopes), so
   * windows a step apart are nearly independent: every delay scanned
   * counts as a test. */
  m_eff = MAX (1.0, (double) (ps->hi - ps->lo) / ps->d_step + 1);
  t->p = scan_p (best, t->n_trials - 1, m_eff);

  /* Common input: the same sign already before the AP. */
  t->z_lead = -INFINITY;
  for (j = 0; j < ps->n_d; j++)
    {
      const double *a = acc + (gsize) j * N_ACC;
      gint64 D = -ps->lead + (gint64) j * ps->d_step;
      double mean, var, tz;

      if (D + ps->w > -to_samples (LEAD_GAP_MS, ps->fs) || a[A_IN] < 3)
        continue;
      mean = a[A_IS] / a[A_IN];
      var = (a[A_IS2] - a[A_IN] * mean * mean) / (a[A_IN] - 1);
      if (!(var > 0))
        continue;
      tz = mean / sqrt (var / a[A_IN]) * (best < 0 ? -1 : 1);
      t->z_lead = MAX (t->z_lead, tz);
    }
  if (!isfinite (t->z_lead))
    t->z_lead = 0;
  t->common_input = t->z_lead >= ps->p->common_input_z;
}

/**
 * imp_psc_test_pairs:
 * @recording: the recording
 * @params: the analysis parameters (normalised)
 * @ap_times: (array): per channel, the AP peak samples (gint64, sorted)
 * @is_pre: (array): per channel, whether it is tested as presynaptic
 * @is_post: (array): per channel, whether it is tested as postsynaptic
 * @cancellable: (nullable): checked at every block
 * @error: return location for a #GError
 *
 * The waveform test of every ordered pair (pre, post), pre ≠ post
 * (docs/analysis.md). Reads the recording twice, a block at a time.
 *
 * Returns: (transfer full) (element-type ImpPscTest) (nullable): the
 *   tests, by pre and then post, or %NULL with @error set
 */
GArray *
imp_psc_test_pairs (ImpRecording             *recording,
                    const ImpAnalysisParams  *params,
                    GArray                  **ap_times,
                    const gboolean           *is_pre,
                    const gboolean           *is_post,
                    GCancellable             *cancellable,
                    GError                  **error)
{
  Psc ps = { 0 };
  GArray *out = NULL;
  gint64 zlen;
  guint c, pi;

  g_return_val_if_fail (recording != NULL, NULL);
  g_return_val_if_fail (params != NULL, NULL);

  ps.rec = recording;
  ps.p = params;
  ps.fs = imp_recording_get_sample_rate (recording);
  ps.n_channels = imp_recording_get_n_channels (recording);
  ps.ap_times = ap_times;
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
  ps.w = MAX (1, to_samples (params->psc_window_ms, ps.fs));
  ps.lo = (gint64) ceil (params->latency_min_ms * ps.fs / 1000.0);
  ps.hi = (gint64) floor (params->latency_max_ms * ps.fs / 1000.0);
  ps.lead = MAX (ps.w + 2, to_samples (params->lead_ms, ps.fs));
  ps.post_len = ps.hi + ps.w + 1;
  ps.flank = MAX (2, to_samples (params->baseline_ms, ps.fs));
  ps.d_step = MAX (1, ps.w / 4);
  ps.n_d = (guint) ((ps.lead + ps.hi) / ps.d_step + 1);
  ps.zero_from = -to_samples (ZERO_FROM_MS, ps.fs);
  ps.zero_to = MAX (ps.zero_from + 1, ps.lo);
  ps.tpl_pre = to_samples (TEMPLATE_PRE_MS, ps.fs);
  ps.tpl_len = ps.tpl_pre + to_samples (TEMPLATE_MS, ps.fs);
  ps.blank_pre = to_samples (BLANK_PRE_MS, ps.fs);
  ps.blank_post = to_samples (params->ap_blank_ms, ps.fs);
  ps.pad = MAX (ps.lead, ps.tpl_pre) + MAX (ps.post_len, ps.tpl_len)
           + ps.flank + 2;
  zlen = ps.zero_to - ps.zero_from;

  ps.acc = g_new0 (double, (gsize) ps.n_pre * ps.n_post * ps.n_d * N_ACC);
  ps.zero = g_new0 (double, (gsize) ps.n_pre * ps.n_post * zlen * 2);
  ps.auto_zero = g_new0 (double, (gsize) ps.n_pre * zlen * 2);
  ps.auto_win = g_new0 (double, (gsize) ps.n_pre * ps.n_d * 2);
  ps.tpl = g_new0 (double, (gsize) ps.n_channels * ps.tpl_len);
  ps.tpl_n = g_new0 (guint, ps.n_channels);

  if (!stream (&ps, 0, cancellable, error))
    goto out;
  for (c = 0; c < ps.n_channels; c++)
    if (ps.tpl_n[c] > 0)
      for (gint64 u = 0; u < ps.tpl_len; u++)
        ps.tpl[(gsize) c * ps.tpl_len + u] /= ps.tpl_n[c];
  if (!stream (&ps, 1, cancellable, error))
    goto out;

  out = g_array_new (FALSE, FALSE, sizeof (ImpPscTest));
  for (pi = 0; pi < ps.n_pre; pi++)
    for (c = 0; c < ps.n_channels; c++)
      {
        ImpPscTest t;

        if (c == ps.pres[pi] || ps.post_index[c] == G_MAXUINT)
          continue;
        judge_pair (&ps, pi, c, &t);
        g_array_append_val (out, t);
      }

out:
  g_free (ps.pre_index);
  g_free (ps.post_index);
  g_free (ps.pres);
  g_free (ps.acc);
  g_free (ps.zero);
  g_free (ps.auto_zero);
  g_free (ps.auto_win);
  g_free (ps.tpl);
  g_free (ps.tpl_n);
  return out;
}
