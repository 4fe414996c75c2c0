/* test-psc.c
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <math.h>
#include <string.h>

#include <glib/gstdio.h>

#include "imp-analysis.h"
#include "imp-detect.h"
#include "imp-psc.h"
#include "imp-recording.h"
#include "imp-psc-private.h"
#include "imp-simulate.h"
#include "imp-test-memory.h"

/* The waveform test's fast kernel against a slow, plain reference written
 * from docs/analysis.md ("The waveform test"): per pair, per AP, loops
 * over samples in double precision, over the whole recording at once. */

/* The fixed constants of docs/analysis.md. */
#define BLOCK_S          2.0   /* clusters end at the test's block edges */
#define TEMPLATE_MS      60.0
#define TEMPLATE_PRE_MS  2.0
#define BLANK_PRE_MS     1.0
#define ZERO_FROM_MS     1.0
#define LEAD_GAP_MS      1.0
#define MIN_FLANK        0.25
#define SMOOTH_MS        0.5
#define CROSSTALK_T      5.0
#define NULL_MIN_N       200

/* The kernel sums in floats; the reference in doubles. */
#define Z_TOL      2e-3
#define CHARGE_TOL 2e-3

static char *tmp_dir;

typedef struct
{
  double fs, a;
  gint64 n, box, w, lo, hi, step, lead, post_len, flank;
  gint64 zero_from, zero_to, tpl_pre, tpl_len, blank_pre, blank_post;
  gint64 block;
  guint  n_main, n_lead;
} Geo;

static gint64
ms_to_samples (double ms,
               double fs)
{
  return (gint64) llround (ms * fs / 1000.0);
}

static void
geo_init (Geo                     *g,
          const ImpAnalysisParams *p,
          double                   fs,
          gint64                   n)
{
  gint64 gap = ms_to_samples (LEAD_GAP_MS, fs);

  g->fs = fs;
  g->n = n;
  g->a = exp (-1000.0 / (fs * p->deconv_tau_ms));
  g->box = MAX (1, ms_to_samples (SMOOTH_MS, fs));
  g->w = MAX (1, ms_to_samples (p->psc_window_ms, fs));
  g->lo = (gint64) ceil (p->latency_min_ms * fs / 1000.0);
  g->hi = (gint64) floor (p->latency_max_ms * fs / 1000.0);
  g->step = MAX (1, g->w / 4);
  g->n_main = (guint) ((g->hi - g->lo) / g->step + 1);
  g->lead = MAX (g->w + gap + 1, ms_to_samples (p->lead_ms, fs));
  g->n_lead = (guint) ((g->lead - g->w - gap) / g->step + 1);
  g->post_len = g->hi + g->w + 1;
  g->flank = MAX (2, ms_to_samples (p->baseline_ms, fs));
  g->zero_from = -ms_to_samples (ZERO_FROM_MS, fs);
  g->zero_to = MAX (g->zero_from + 1, g->lo);
  g->tpl_pre = MAX (ms_to_samples (TEMPLATE_PRE_MS, fs), -g->zero_from);
  g->tpl_len = g->tpl_pre + MAX (ms_to_samples (TEMPLATE_MS, fs),
                                 g->post_len);
  g->blank_pre = ms_to_samples (BLANK_PRE_MS, fs);
  g->blank_post = ms_to_samples (p->ap_blank_ms, fs);
  g->block = (gint64) (BLOCK_S * fs);
}

/* d(t) = x(t) - a x(t - 1), then a centred boxcar; NAN next to a gap. */
static double *
ref_deconvolve (const Geo   *g,
                const float *x)
{
  double *tmp = g_new (double, g->n);
  double *d = g_new (double, g->n);
  gint64 i, j, k;

  tmp[0] = NAN;
  for (i = 1; i < g->n; i++)
    tmp[i] = imp_detect_usable (x[i]) && imp_detect_usable (x[i - 1])
             ? x[i] - g->a * x[i - 1] : NAN;
  for (j = 0; j < g->n; j++)
    {
      gint64 s = j - g->box / 2;
      double sum = 0;

      d[j] = NAN;
      if (s < 0 || s + g->box > g->n)
        continue;
      for (k = s; k < s + g->box; k++)
        sum += tmp[k];
      if (isfinite (sum))
        d[j] = sum / g->box;
    }
  g_free (tmp);
  return d;
}

/* Mean of the usable d over [a, b) and [c, e); NAN below @min_n. */
static double
ref_mean2 (const double *d,
           gint64        a,
           gint64        b,
           gint64        c,
           gint64        e,
           double        min_n)
{
  double sum = 0;
  gint64 n = 0, i;

  for (i = a; i < b; i++)
    if (isfinite (d[i]))
      sum += d[i], n++;
  for (i = c; i < e; i++)
    if (isfinite (d[i]))
      sum += d[i], n++;
  return n >= min_n && n > 0 ? sum / n : NAN;
}

/* The baseline of a trial at AP sample @t: the mean usable d over its
 * flanks; NAN when the trial does not fit in the recording or too few
 * flank samples are usable. */
static double
ref_trial_base (const Geo    *g,
                const double *d,
                gint64        t)
{
  if (t - g->lead - g->flank < 0 || t + g->post_len + g->flank > g->n)
    return NAN;
  return ref_mean2 (d, t - g->lead - g->flank, t - g->lead,
                    t + g->post_len, t + g->post_len + g->flank,
                    MIN_FLANK * 2 * g->flank);
}

/* The own AP-and-AHP template from isolated APs; NULL without any. */
static double *
ref_template (const Geo    *g,
              const double *d,
              GArray       *aps)
{
  const gint64 *at = (const gint64 *) aps->data;
  double *tpl = g_new0 (double, g->tpl_len);
  guint k, n = 0;
  gint64 u;

  for (k = 0; k < aps->len; k++)
    {
      gint64 s = at[k] - g->tpl_pre;
      double base;

      if ((k > 0 && at[k] - at[k - 1] < g->tpl_len)
          || (k + 1 < aps->len && at[k + 1] - at[k] < g->tpl_len)
          || s - g->flank < 0 || at[k] + g->tpl_len > g->n)
        continue;
      base = ref_mean2 (d, s - g->flank, s, 0, 0, MIN_FLANK * g->flank);
      if (!isfinite (base))
        continue;
      for (u = 0; u < g->tpl_len; u++)
        if (!isfinite (d[s + u]))
          break;
      if (u < g->tpl_len)
        continue;
      for (u = 0; u < g->tpl_len; u++)
        tpl[u] += d[s + u] - base;
      n++;
    }
  if (n == 0)
    {
      g_free (tpl);
      return NULL;
    }
  for (u = 0; u < g->tpl_len; u++)
    tpl[u] /= n;
  return tpl;
}

/* The sum of d - @base over [s, s + len), NAN where a sample is blanked;
 * with @tz, the projection on it instead. */
static double
ref_window (const double *d,
            gint64        s,
            gint64        len,
            double        base,
            const double *tz)
{
  double sum = 0;
  gint64 i;

  for (i = 0; i < len; i++)
    {
      if (!isfinite (d[s + i]))
        return NAN;
      sum += (tz != NULL ? tz[i] : 1.0) * (d[s + i] - base);
    }
  return sum;
}

typedef struct
{
  double  z, delay_ms, charge_mv, crosstalk, z_lead, zero_mv, z_zero;
  guint   n_trials;
  double *t;          /* per main delay, 0 where none */
  gboolean floored;   /* the null variance set the strongest window's */
} Ref;

/* The post's trial sums (less their baseline) at every w-th sample,
 * whether an AP came or not: their mean at each main delay into @mu0,
 * and the variance at the first one returned; 0 where fewer than
 * NULL_MIN_N were usable. */
static double
ref_null (const Geo    *g,
          const double *post_d,
          double       *mu0)
{
  g_autofree double *n = g_new0 (double, g->n_main);
  g_autofree double *s = g_new0 (double, g->n_main);
  double s2 = 0, mean;
  gint64 t;
  guint j;

  for (t = 0; t < g->n; t += g->w)
    {
      double base = ref_trial_base (g, post_d, t);

      for (j = 0; isfinite (base) && j < g->n_main; j++)
        {
          double y = ref_window (post_d, t + g->lo + j * g->step, g->w, base,
                                 NULL);

          if (isfinite (y))
            {
              n[j] += 1, s[j] += y;
              if (j == 0)
                s2 += y * y;
            }
        }
    }
  for (j = 0; j < g->n_main; j++)
    mu0[j] = n[j] >= NULL_MIN_N ? s[j] / n[j] : 0;
  if (n[0] < NULL_MIN_N)
    return 0;
  mean = s[0] / n[0];
  return s2 / n[0] - mean * mean;
}

static double
sample_var (double n,
            double s,
            double s2)
{
  double mean = s / n;

  return (s2 - n * mean * mean) / (n - 1);
}

/* The waveform test of (pre, post) as docs/analysis.md describes it. */
static void
ref_pair (const Geo    *g,
          GArray       *pre_aps,
          const double *pre_tpl,
          const double *auto_mean,
          const double *post_d,
          double        var0,
          const double *mu0,
          Ref          *r)
{
  const gint64 *at = (const gint64 *) pre_aps->data;
  gint64 len = g->lead + g->post_len, gap = len + 2 * g->flank;
  gint64 zlen = g->zero_to - g->zero_from;
  guint nm = g->n_main, nl = g->n_lead;
  /* per main delay: trials, sum, and the clusters' sums */
  g_autofree double *mn = g_new0 (double, nm);
  g_autofree double *ms = g_new0 (double, nm);
  g_autoptr(GArray) cl_n = g_array_new (FALSE, TRUE, sizeof (double));
  g_autoptr(GArray) cl_s = g_array_new (FALSE, TRUE, sizeof (double));
  g_autofree double *ln = g_new0 (double, nl);
  g_autofree double *ls = g_new0 (double, nl);
  g_autofree double *ls2 = g_new0 (double, nl);
  double zn = 0, zp = 0, zp2 = 0, zs = 0, zs2 = 0, txx = 0, tsum = 0;
  double c = 0, best = 0;
  guint k, j, n_cl = 0;
  gint64 l;

  memset (r, 0, sizeof *r);
  r->t = g_new0 (double, nm);
  for (k = 0; k < pre_aps->len; k++)
    {
      gint64 t = at[k];
      double base;

      if (k == 0 || t - at[k - 1] > gap || t / g->block != at[k - 1] / g->block)
        {
          n_cl++;
          g_array_set_size (cl_n, n_cl * nm);
          g_array_set_size (cl_s, n_cl * nm);
        }
      base = ref_trial_base (g, post_d, t);
      if (!isfinite (base))
        continue;
      for (j = 0; j < nm; j++)
        {
          double y = ref_window (post_d, t + g->lo + j * g->step, g->w, base,
                                 NULL);

          if (!isfinite (y))
            continue;
          mn[j] += 1;
          ms[j] += y;
          g_array_index (cl_n, double, (n_cl - 1) * nm + j) += 1;
          g_array_index (cl_s, double, (n_cl - 1) * nm + j) += y;
        }
      if (k == 0 || t - at[k - 1] > len)
        for (j = 0; j < nl; j++)
          {
            double y = ref_window (post_d, t - g->lead + j * g->step, g->w,
                                   base, NULL);

            if (isfinite (y))
              ln[j] += 1, ls[j] += y, ls2[j] += y * y;
          }
      if (isfinite (ref_window (post_d, t + g->zero_from, zlen, base, NULL)))
        {
          double s = ref_window (post_d, t + g->zero_from, zlen, base, NULL);
          double p = pre_tpl == NULL ? 0
                     : ref_window (post_d, t + g->zero_from, zlen, base,
                                   pre_tpl + g->tpl_pre + g->zero_from);

          zn += 1, zp += p, zp2 += p * p, zs += s, zs2 += s * s;
        }
    }

  /* Crosstalk */
  for (l = 0; pre_tpl != NULL && l < zlen; l++)
    {
      txx += pow (pre_tpl[g->tpl_pre + g->zero_from + l], 2);
      tsum += pre_tpl[g->tpl_pre + g->zero_from + l];
    }
  if (pre_tpl != NULL && txx > 0 && zn > 2)
    {
      double var_s = sample_var (zn, zs, zs2);

      c = zp / zn / txx;
      if (fabs (c) < CROSSTALK_T * sqrt (MAX (sample_var (zn, zp, zp2), 0)
                                         / zn) / txx)
        c = 0;
      r->zero_mv = zs / zn - c * tsum;
      if (var_s > 0)
        r->z_zero = r->zero_mv / sqrt (var_s / zn);
    }
  r->crosstalk = c;

  /* Delay scan with the cluster-robust variance */
  for (j = 0; j < nm; j++)
    {
      double mean = ms[j] / mn[j], ss = 0, var;
      gboolean floored;
      guint gi, n_g = 0;

      for (gi = 0; gi < n_cl; gi++)
        {
          double cn = g_array_index (cl_n, double, gi * nm + j);
          double cs = g_array_index (cl_s, double, gi * nm + j);

          if (cn > 0)
            n_g++, ss += pow (cs - mean * cn, 2);
        }
      if (n_g < 3)
        continue;
      var = ss / (mn[j] * mn[j]) * n_g / (n_g - 1.0);
      if (!(var > 0))
        continue;
      /* never below what independent trials of the null would give */
      floored = var < var0 / mn[j];
      var = MAX (var, var0 / mn[j]);
      r->t[j] = (mean - mu0[j] - c * auto_mean[j]) / sqrt (var);
      if (fabs (r->t[j]) > fabs (best))
        {
          best = r->t[j];
          r->floored = floored;
          r->delay_ms = (g->lo + j * g->step) * 1000.0 / g->fs;
          r->charge_mv = mean - mu0[j] - c * auto_mean[j];
          r->n_trials = (guint) mn[j];
        }
    }
  r->z = best;

  /* Common input */
  for (j = 0; r->n_trials >= 3 && j < nl; j++)
    {
      double var;

      if (ln[j] < 3)
        continue;
      var = sample_var (ln[j], ls[j], ls2[j]);
      if (var > 0)
        r->z_lead = MAX (r->z_lead, ls[j] / ln[j] / sqrt (var / ln[j])
                                    * (best < 0 ? -1 : 1));
    }
}

/* The pre's own raw d after its APs, averaged over the main windows. */
static double *
ref_auto_mean (const Geo    *g,
               const double *d,
               GArray       *aps)
{
  const gint64 *at = (const gint64 *) aps->data;
  g_autofree double *sum = g_new0 (double, g->n_main);
  g_autofree double *cnt = g_new0 (double, g->n_main);
  double *mean = g_new0 (double, g->n_main);
  guint k, j;

  for (k = 0; k < aps->len; k++)
    {
      gint64 t = at[k];
      double base;

      base = ref_trial_base (g, d, t);
      if (!isfinite (base))
        continue;
      for (j = 0; j < g->n_main; j++)
        {
          double y = ref_window (d, t + g->lo + j * g->step, g->w, base, NULL);

          if (isfinite (y))
            sum[j] += y, cnt[j] += 1;
        }
    }
  for (j = 0; j < g->n_main; j++)
    if (cnt[j] > 0)
      mean[j] = sum[j] / cnt[j];
  return mean;
}

/* Subtracts the own template at every own AP and blanks around each. */
static void
ref_remove_own (const Geo    *g,
                double       *d,
                const double *tpl,
                GArray       *aps)
{
  const gint64 *at = (const gint64 *) aps->data;
  guint k;
  gint64 i;

  for (k = 0; tpl != NULL && k < aps->len; k++)
    for (i = 0; i < g->tpl_len; i++)
      if (at[k] - g->tpl_pre + i >= 0 && at[k] - g->tpl_pre + i < g->n)
        d[at[k] - g->tpl_pre + i] -= tpl[i];
  for (k = 0; k < aps->len; k++)
    for (i = at[k] - g->blank_pre; i <= at[k] + g->blank_post; i++)
      if (i >= 0 && i < g->n)
        d[i] = NAN;
}

static gboolean
close_enough (double a,
              double b,
              double tol)
{
  return fabs (a - b) <= tol * MAX (1.0, fabs (b));
}

/* NAN stretches of various lengths, and single infinities, in every
 * third channel of @x (n_ch × n): the deconvolution then takes its path
 * for blocks with gaps there. */
static void
add_gaps (float  *x,
          guint   n_ch,
          gint64  n)
{
  for (guint c = 0; c < n_ch; c += 3)
    {
      float *xc = x + (gsize) c * n;
      gint64 from = (gint64) (c + 1) * n / (n_ch + 2), k;

      for (k = from; k < MIN (n, from + 50 + 97 * c); k++)
        xc[k] = NAN;
      xc[(from + n / 3) % n] = INFINITY;
      xc[(from + 2 * n / 3) % n] = -INFINITY;
    }
}

/* The kernel against the reference on a hard simulation; @gaps: with
 * gaps added to the samples; @keep_max_bytes: what the first pass may
 * keep for the second (0: the recording is read twice). */
static void
check_reference (gboolean gaps,
                 gsize    keep_max_bytes)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = g_build_filename (tmp_dir, "psc.h5", NULL);
  g_autoptr(ImpRecording) file = NULL;
  g_autoptr(ImpRecording) rec = NULL;
  g_autoptr(ImpAnalysisResult) res = NULL;
  g_autoptr(GArray) tests = NULL;
  g_autofree float *x = NULL;
  g_autofree gboolean *is_pre = NULL;
  g_autofree gboolean *is_post = NULL;
  g_autofree GArray **ap_times = NULL;
  g_autofree double **d = NULL;
  g_autofree double **tpl = NULL;
  g_autofree double **auto_mean = NULL;
  g_autofree double *var0 = NULL;
  g_autofree double *mu0 = NULL;
  ImpSimParams sim;
  ImpAnalysisParams p;
  Geo g;
  guint n_ch, c, i, n_checked = 0, n_crosstalk = 0, n_lead = 0;
  guint n_ties = 0, n_floored = 0;

  imp_sim_params_init_hard (&sim);
  sim.n_neurons = 24;
  sim.duration_s = 12;
  sim.seed = 3;
  g_assert_true (imp_simulate (&sim, path, NULL, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  file = imp_recording_open (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (imp_recording_get_n_sweeps (file), ==, 1);
  imp_analysis_params_init_default (&p);
  imp_analysis_params_normalise (&p);
  res = imp_analysis_run (file, &p, NULL, NULL, NULL, &error);
  g_assert_no_error (error);

  n_ch = imp_recording_get_n_channels (file);
  geo_init (&g, &p, imp_recording_get_sample_rate (file),
            imp_recording_get_n_samples (file));
  x = g_new (float, (gsize) n_ch * g.n);
  g_assert_true (imp_recording_read (file, 0, n_ch, 0, g.n, x, &error));
  g_assert_no_error (error);
  if (gaps)
    {
      g_autofree const char **labels = g_new (const char *, n_ch);
      g_autofree const char **units = g_new (const char *, n_ch);

      add_gaps (x, n_ch, g.n);
      for (c = 0; c < n_ch; c++)
        {
          const ImpChannel *ch = imp_recording_get_channel (file, c);

          labels[c] = ch->label;
          units[c] = ch->unit;
        }
      rec = mem_recording (g_memdup2 (x, sizeof (float) * n_ch * g.n), g.n,
                           g.fs, n_ch, labels, units);
    }
  else
    rec = imp_recording_ref (file);

  /* AP times from detection; posts are the cells with access. */
  is_pre = g_new0 (gboolean, n_ch);
  is_post = g_new0 (gboolean, n_ch);
  ap_times = g_new0 (GArray *, n_ch);
  for (c = 0; c < n_ch; c++)
    {
      ap_times[c] = g_array_new (FALSE, FALSE, sizeof (gint64));
      for (i = 0; i < res->aps[c]->len; i++)
        {
          gint64 t = g_array_index (res->aps[c], ImpEvent, i).sample;

          g_array_append_val (ap_times[c], t);
        }
      is_pre[c] = ap_times[c]->len >= 3;
      is_post[c] = res->access[c] == IMP_ACCESS_INTRACELLULAR;
    }
  _imp_psc_set_keep_max_bytes (keep_max_bytes);
  tests = imp_psc_test_pairs (rec, &p, ap_times, is_pre, is_post, NULL, NULL,
                              NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (tests);

  d = g_new0 (double *, n_ch);
  tpl = g_new0 (double *, n_ch);
  auto_mean = g_new0 (double *, n_ch);
  for (c = 0; c < n_ch; c++)
    {
      d[c] = ref_deconvolve (&g, x + (gsize) c * g.n);
      tpl[c] = ref_template (&g, d[c], ap_times[c]);
      auto_mean[c] = ref_auto_mean (&g, d[c], ap_times[c]);
    }
  var0 = g_new0 (double, n_ch);
  mu0 = g_new0 (double, (gsize) n_ch * g.n_main);
  for (c = 0; c < n_ch; c++)
    if (is_post[c])
      {
        ref_remove_own (&g, d[c], tpl[c], ap_times[c]);
        var0[c] = ref_null (&g, d[c], mu0 + (gsize) c * g.n_main);
      }

  g_assert_cmpuint (tests->len, >, 100);
  for (i = 0; i < tests->len; i++)
    {
      const ImpPscTest *t = &g_array_index (tests, ImpPscTest, i);
      Ref r;

      g_assert_true (is_pre[t->pre] && is_post[t->post]);
      g_assert_cmpuint (t->pre, !=, t->post);
      ref_pair (&g, ap_times[t->pre], tpl[t->pre], auto_mean[t->pre],
                d[t->post], var0[t->post],
                mu0 + (gsize) t->post * g.n_main, &r);
      if (!close_enough (t->z, r.z, Z_TOL)
          || !close_enough (t->charge_mv, r.charge_mv, CHARGE_TOL)
          || t->delay_ms != r.delay_ms)
        {
          guint j = (guint) llround ((t->delay_ms * g.fs / 1000.0 - g.lo)
                                     / g.step);

          /* Two delays as strong within rounding: either is right. */
          if (t->delay_ms != r.delay_ms && j < g.n_main
              && close_enough (fabs (r.t[j]), fabs (r.z), Z_TOL))
            n_ties++;
          else
            g_error ("pair %u -> %u: z %g (reference %g), delay %g ms (%g), "
                     "charge %g mV (%g), %u trials (%u)", t->pre, t->post,
                     t->z, r.z, t->delay_ms, r.delay_ms, t->charge_mv,
                     r.charge_mv, t->n_trials, r.n_trials);
        }
      else
        g_assert_cmpuint (t->n_trials, ==, r.n_trials);
      g_assert_true (close_enough (t->crosstalk, r.crosstalk, 1e-4));
      g_assert_true (close_enough (t->z_lead, r.z_lead, Z_TOL));
      g_assert_true (close_enough (t->zero_mv, r.zero_mv, CHARGE_TOL));
      g_assert_true (close_enough (t->z_zero, r.z_zero, Z_TOL));
      n_checked++;
      n_crosstalk += r.crosstalk != 0;
      n_lead += r.z_lead > 0;
      n_floored += r.floored;
      g_free (r.t);
    }
  g_test_message ("%u pairs, %u with crosstalk removed, %u with a lead "
                  "statistic, %u ties, %u with the null's variance",
                  n_checked, n_crosstalk, n_lead, n_ties, n_floored);
  /* The reference saw every part of the test at work. */
  g_assert_cmpuint (n_crosstalk, >, 0);
  g_assert_cmpuint (n_floored, >, 0);
  g_assert_cmpuint (n_lead, >, 0);
  g_assert_cmpuint (n_ties, <=, n_checked / 100);

  for (c = 0; c < n_ch; c++)
    {
      g_array_unref (ap_times[c]);
      g_free (d[c]);
      g_free (tpl[c]);
      g_free (auto_mean[c]);
    }
  g_unlink (path);
}

/* The first pass keeps the deconvolved posts for the second. */
static void
test_reference (void)
{
  check_reference (FALSE, G_MAXSIZE);
}

/* The second pass reads and deconvolves the recording again. */
static void
test_reference_read_twice (void)
{
  check_reference (FALSE, 0);
}

/* Gaps, both ways. */
static void
test_reference_gaps (void)
{
  check_reference (TRUE, 0);
  check_reference (TRUE, G_MAXSIZE);
}

/* Li and Ji's effective number of tests on matrices whose answer is
 * known: independent tests, copies of one test, two groups of copies,
 * whatever the variances; and an equicorrelated set, whose eigenvalues
 * are 1 + (m - 1) ρ once and 1 - ρ (m - 1) times. */
static void
test_effective_tests (void)
{
  double c[36];
  guint m = 6, j, k;

  for (j = 0; j < m; j++)
    for (k = 0; k < m; k++)
      c[j * m + k] = j == k ? (j + 1) * (j + 1) : 0;
  g_assert_cmpfloat_with_epsilon (_imp_psc_effective_tests (c, m), 6, 1e-6);

  for (j = 0; j < m; j++)
    for (k = 0; k < m; k++)
      c[j * m + k] = 2.5;
  g_assert_cmpfloat_with_epsilon (_imp_psc_effective_tests (c, m), 1, 1e-6);

  for (j = 0; j < m; j++)
    for (k = 0; k < m; k++)
      c[j * m + k] = (j < 2) == (k < 2) ? (j < 2 ? 4.0 : 9.0) : 0;
  g_assert_cmpfloat_with_epsilon (_imp_psc_effective_tests (c, m), 2, 1e-6);

  /* ρ = 0.3: λ = 2.5 and 0.7 five times: 1 + 0.5 + 5 × 0.7 = 5 */
  for (j = 0; j < m; j++)
    for (k = 0; k < m; k++)
      c[j * m + k] = j == k ? 1 : 0.3;
  g_assert_cmpfloat_with_epsilon (_imp_psc_effective_tests (c, m), 5, 1e-6);

  /* a test without variance: as many as there are */
  for (j = 0; j < m; j++)
    for (k = 0; k < m; k++)
      c[j * m + k] = j == k && j != 3 ? 1 : 0;
  g_assert_cmpfloat (_imp_psc_effective_tests (c, m), ==, m);
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(GError) error = NULL;
  int status;

  g_test_init (&argc, &argv, NULL);
  tmp_dir = g_dir_make_tmp ("imp-psc-XXXXXX", &error);
  g_assert_no_error (error);

  g_test_add_func ("/imp/Psc/effective-tests", test_effective_tests);
  g_test_add_func ("/imp/Psc/reference", test_reference);
  g_test_add_func ("/imp/Psc/reference/read-twice", test_reference_read_twice);
  g_test_add_func ("/imp/Psc/reference/gaps", test_reference_gaps);

  status = g_test_run ();
  g_rmdir (tmp_dir);
  g_free (tmp_dir);
  return status;
}
