/* imp-kinetics.c
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <math.h>

#include "imp-kinetics.h"

/* docs/analysis.md, "Onset, rise and decay", explains each number. */
#define TAU_RISE_MIN_MS   0.2
#define TAU_RISE_MAX_MS   10.0
#define TAU_DECAY_MIN_MS  2.0
#define TAU_DECAY_MAX_MS  150.0
#define TAU_STEP          2.0    /* ratio of neighbours in the coarse grid */
#define TAU_RATIO_MIN     1.5    /* decay at least this × rise */
#define CROSSTALK_PRE_MS  1.0    /* the AP's own crosstalk: samples from
                                    this long before its peak to the
                                    earliest onset are not fitted */
#define ONSET_STEP_MS     0.2    /* the coarse grid's onsets */
#define REFINE_ROUNDS     6
#define FIT_PRE_MS        10.0   /* baseline fitted from this long before
                                    the AP at most */
#define REFINE_ONSETS     2      /* samples either side of the best */
#define REFINE_TAUS       5      /* time constants tried around the best */

/* The average @x, the samples fitted and their baseline's sums: the
 * baseline is b0 + b1 u, with u = (k - pre_len) / len for conditioning. */
typedef struct
{
  const float *x;
  gint64  len, pre_len;
  double  fs, sign;
  gint64  t_lo, t_hi;     /* onsets searched, samples */
  double  inv_det, n, su, suu, sx, sux;
  double  bx, bux;        /* M^-1 (sx, sux), M the baseline's matrix */
} Fit;

/* One time constant's exponential r^j from an onset, for the onsets t0
 * scanned: with L = len - t0 samples to the window's end, r^L and the
 * sums over j < L of r^j and j r^j (in closed form), and the sum over j
 * of x[t0 + j] r^j (a recurrence). A double exponential's sums are
 * differences of two of these (its square's from r^L in closed form),
 * so that a shape costs nothing per sample. Arrays by L, e by onset. */
typedef struct
{
  double  tau, r;
  double *p, *s1, *sj, *e;
} Tau;

typedef struct
{
  double tr, td;          /* ms */
  gint64 t0;
  double gain;            /* residual sum of squares removed */
  double amplitude;
} Best;

/* The factor that scales e^{-t/td} - e^{-t/tr} to peak 1, and the time
 * of that peak in @tpeak (when not NULL). */
static double
kernel_norm (double  tr,
             double  td,
             double *tpeak)
{
  double tp = tr * td / (td - tr) * log (td / tr);

  if (tpeak != NULL)
    *tpeak = tp;
  return 1.0 / (exp (-tp / td) - exp (-tp / tr));
}

/* @tau_ms's sums for the onsets from @t_from to @t_to. */
static void
tau_init (Tau       *t,
          const Fit *f,
          double     tau_ms,
          gint64     t_from,
          gint64     t_to,
          double    *mem)
{
  gint64 l_lo, l_hi, l, k;
  double r, q;

  t_from = MAX (t_from, f->t_lo);
  t_to = MIN (t_to, f->t_hi);
  l_lo = f->len - t_to;
  l_hi = f->len - t_from;
  t->tau = tau_ms;
  t->r = r = exp (-1000.0 / (f->fs * tau_ms));
  q = 1 / (1 - r);
  t->p = mem;
  t->s1 = t->p + f->len + 1;
  t->sj = t->s1 + f->len + 1;
  t->e = t->sj + f->len + 1;
  t->p[l_lo] = pow (r, (double) l_lo);
  for (l = l_lo; l <= l_hi; l++)
    {
      double pl = t->p[l];

      if (l < l_hi)
        t->p[l + 1] = pl * r;
      t->s1[l] = (1 - pl) * q;
      t->sj[l] = (r - (double) l * pl + (double) (l - 1) * pl * r) * q * q;
    }
  t->e[f->len] = 0;
  for (k = f->len - 1; k >= t_from; k--)
    t->e[k] = f->x[k] + r * t->e[k + 1];
}

/* Doubles a Tau needs. */
static gsize
tau_size (const Fit *f)
{
  return 4 * (gsize) (f->len + 1);
}

/* A double exponential (@d - @r) × norm, scaled to peak 1, and the
 * constants of its square's sums. */
typedef struct
{
  const Tau *d, *r;
  double     norm, cdd, cdr, crr;
} Shape;

/* The fit of @sh from onset @t0: the residual sum of squares it removes
 * beyond the baseline's, or 0 when its amplitude has the wrong sign;
 * that amplitude in @amplitude. */
static inline double
gain_at (const Fit   *f,
         const Shape *sh,
         gint64       t0,
         double      *amplitude)
{
  const Tau *d = sh->d, *r = sh->r;
  gint64 l = f->len - t0;
  double pd = d->p[l], pr = r->p[l], norm = sh->norm;
  double sg = norm * (d->s1[l] - r->s1[l]);
  double sgg = norm * norm * ((1 - pd * pd) * sh->cdd
                              - (1 - pd * pr) * sh->cdr
                              + (1 - pr * pr) * sh->crr);
  double sgu = ((double) (t0 - f->pre_len) * sg
                + norm * (d->sj[l] - r->sj[l])) / f->len;
  double sgx = norm * (d->e[t0] - r->e[t0]);
  double rgx, rgg;

  /* Less the baseline's projection: (sg, sgu) M^-1 (sx, sux) and
   * (sg, sgu) M^-1 (sg, sgu). */
  rgx = sgx - (sg * f->bx + sgu * f->bux);
  rgg = sgg - (sg * (f->suu * sg - f->su * sgu)
               + sgu * (f->n * sgu - f->su * sg)) * f->inv_det;
  if (!(rgg > 0) || !(f->sign * rgx > 0))
    return 0;
  *amplitude = rgx;
  return rgx * rgx / rgg;
}

/* The onsets from @t_from to @t_to, @step apart, with the rise @r and
 * decay @d; keeps the best in @best. */
static void
scan (const Fit *f,
      const Tau *r,
      const Tau *d,
      gint64     t_from,
      gint64     t_to,
      gint64     step,
      Best      *best)
{
  double tr = r->tau, td = d->tau;
  Shape sh = { d, r };
  gint64 t0, at = -1;
  double rgx = 0;

  if (td < TAU_RATIO_MIN * tr)
    return;
  sh.norm = kernel_norm (tr, td, NULL);
  sh.cdd = 1 / (1 - d->r * d->r);
  sh.cdr = 2 / (1 - d->r * r->r);
  sh.crr = 1 / (1 - r->r * r->r);
  for (t0 = MAX (t_from, f->t_lo); t0 <= MIN (t_to, f->t_hi); t0 += step)
    {
      double a = 0, g = gain_at (f, &sh, t0, &a);

      if (g > best->gain)
        {
          best->gain = g;
          at = t0;
          rgx = a;
        }
    }
  if (at >= 0)
    {
      best->tr = tr;
      best->td = td;
      best->t0 = at;
      best->amplitude = rgx * best->gain / (rgx * rgx);  /* rgx / rgg */
    }
}

/* The baseline under the best fit: M^-1 ((sx, sux) - A (sg, sgu)). */
static void
baseline_of (const Fit  *f,
             const Best *best,
             double     *mem,
             ImpPspFit  *fit)
{
  Tau r, d;
  double norm, sg, sgu, b0, b1;
  gint64 l = f->len - best->t0;

  tau_init (&r, f, best->tr, best->t0, best->t0, mem);
  tau_init (&d, f, best->td, best->t0, best->t0, mem + tau_size (f));
  norm = kernel_norm (best->tr, best->td, NULL);
  sg = norm * (d.s1[l] - r.s1[l]);
  sgu = ((double) (best->t0 - f->pre_len) * sg
         + norm * (d.sj[l] - r.sj[l])) / f->len;
  b0 = f->bx - best->amplitude * (f->suu * sg - f->su * sgu) * f->inv_det;
  b1 = f->bux - best->amplitude * (f->n * sgu - f->su * sg) * f->inv_det;
  fit->baseline = b0;
  fit->slope_per_ms = b1 * f->fs / (1000.0 * f->len);
}

static double
kernel_at (double tr,
           double td,
           double norm,
           double t)
{
  return norm * (exp (-t / td) - exp (-t / tr));
}

/* Where the kernel crosses @level (of its peak 1) between @a (below on
 * the rise, above on the decay) and @b. */
static double
crossing (double tr,
          double td,
          double norm,
          double level,
          double a,
          double b)
{
  double fa = kernel_at (tr, td, norm, a) - level;
  int i;

  for (i = 0; i < 60; i++)
    {
      double m = 0.5 * (a + b), fm = kernel_at (tr, td, norm, m) - level;

      if ((fm < 0) == (fa < 0))
        {
          a = m;
          fa = fm;
        }
      else
        b = m;
    }
  return 0.5 * (a + b);
}

/**
 * imp_psp_kernel_times:
 * @tau_rise_ms: the double exponential's rise time constant
 * @tau_decay_ms: its decay time constant, larger
 * @rise_ms: (out): its 20-80 % rise time
 * @decay_ms: (out): the time from its peak to half of it
 *
 * The rise and decay times of a double exponential, as Imprint reports
 * them for a PSP.
 */
void
imp_psp_kernel_times (double  tau_rise_ms,
                      double  tau_decay_ms,
                      double *rise_ms,
                      double *decay_ms)
{
  double tr = tau_rise_ms, td = tau_decay_ms;
  double tpeak, norm = kernel_norm (tr, td, &tpeak);

  *rise_ms = crossing (tr, td, norm, 0.8, 0, tpeak)
             - crossing (tr, td, norm, 0.2, 0, tpeak);
  *decay_ms = crossing (tr, td, norm, 0.5, tpeak, tpeak + 20 * td) - tpeak;
}

/**
 * imp_psp_fit_psp:
 * @fit: a fit from imp_psp_fit()
 * @t_ms: time from the presynaptic AP's peak
 *
 * Returns: the fitted PSP alone at @t_ms (0 before its onset), NAN
 *   without a fit
 */
double
imp_psp_fit_psp (const ImpPspFit *fit,
                 double           t_ms)
{
  double tr = fit->tau_rise_ms, td = fit->tau_decay_ms, t;

  if (!(tr > 0 && td > tr) || isnan (fit->onset_ms))
    return NAN;
  t = t_ms - fit->onset_ms;
  if (t <= 0)
    return 0;
  return fit->amplitude * kernel_at (tr, td, kernel_norm (tr, td, NULL), t);
}

/**
 * imp_psp_fit_sample:
 * @fit: a fit from imp_psp_fit()
 * @fs: the sampling rate, Hz
 * @n: samples wanted
 * @out: (out caller-allocates) (array length=n): the fitted PSP alone from
 *   its onset on, a sample apart
 *
 * The same values as imp_psp_fit_psp() at the onset plus k / @fs, by a
 * recurrence. Zeros without a fit.
 */
void
imp_psp_fit_sample (const ImpPspFit *fit,
                    double           fs,
                    gint64           n,
                    double          *out)
{
  double tr = fit->tau_rise_ms, td = fit->tau_decay_ms, scale;
  double rd, rr, ed = 1, er = 1;
  gint64 k;

  if (!(tr > 0 && td > tr) || isnan (fit->onset_ms))
    {
      for (k = 0; k < n; k++)
        out[k] = 0;
      return;
    }
  scale = fit->amplitude * kernel_norm (tr, td, NULL);
  rd = exp (-1000.0 / (fs * td));
  rr = exp (-1000.0 / (fs * tr));
  for (k = 0; k < n; k++)
    {
      out[k] = scale * (ed - er);
      ed *= rd;
      er *= rr;
    }
}

/**
 * imp_psp_fit_value:
 * @fit: a fit from imp_psp_fit()
 * @t_ms: time from the presynaptic AP's peak
 *
 * Returns: the fitted average at @t_ms: baseline and PSP
 */
double
imp_psp_fit_value (const ImpPspFit *fit,
                   double           t_ms)
{
  return fit->baseline + fit->slope_per_ms * t_ms
         + imp_psp_fit_psp (fit, t_ms);
}

static gboolean
at_bound (double tau,
          double lo,
          double hi)
{
  return tau <= lo * (1 + 1e-9) || tau >= hi * (1 - 1e-9);
}

/**
 * imp_psp_fit:
 * @x: a spike-triggered average, @len samples
 * @len: its length
 * @pre_len: the sample of the presynaptic AP's peak
 * @fs: the sampling rate, Hz
 * @sign: 1 for a depolarising PSP, -1 for a hyperpolarising one
 * @onset_min_ms: the earliest onset searched, after the AP peak
 * @onset_max_ms: the latest
 * @fit: (out): the fit
 *
 * Fits a straight baseline plus a double exponential of @sign that
 * starts at an onset between @onset_min_ms and @onset_max_ms, by least
 * squares over the samples from FIT_PRE_MS before the AP on but those of
 * the AP's own crosstalk: a grid of time constants and onsets, then finer
 * grids around the best. An onset at either end of the range means that
 * the PSP would start outside it: no fit. A time constant at either end
 * of its range is not measured: the rise (or decay) is NAN.
 *
 * Returns: %FALSE when no PSP of @sign fits within the ranges (every
 *   field NAN)
 */
gboolean
imp_psp_fit (const float *x,
             gint64       len,
             gint64       pre_len,
             double       fs,
             double       sign,
             double       onset_min_ms,
             double       onset_max_ms,
             ImpPspFit   *fit)
{
  Fit f = { x, len, pre_len, fs, sign > 0 ? 1.0 : -1.0 };
  Best best = { 0 };
  g_autofree Tau *taus = NULL;
  g_autofree double *mem = NULL;
  guint n_rise, n_decay, n_tau, i, j;
  gint64 ex0, k, step;
  double scale, det;
  int round;

  *fit = IMP_PSP_FIT_NONE;
  f.t_lo = pre_len + (gint64) ceil (onset_min_ms * fs / 1000);
  f.t_hi = MIN (len - 2, pre_len + (gint64) floor (onset_max_ms * fs / 1000));
  ex0 = MAX (0, pre_len - (gint64) ceil (CROSSTALK_PRE_MS * fs / 1000));
  if (f.t_lo > f.t_hi || f.t_lo < 0)
    return FALSE;
  for (k = MAX (0, pre_len - (gint64) ceil (FIT_PRE_MS * fs / 1000));
       k < len; k++)
    {
      double u = (double) (k - pre_len) / len;

      if (k >= ex0 && k < f.t_lo)
        continue;
      if (!isfinite (x[k]))
        return FALSE;
      f.n += 1;
      f.su += u;
      f.suu += u * u;
      f.sx += x[k];
      f.sux += u * x[k];
    }
  det = f.n * f.suu - f.su * f.su;
  if (!(det > 0))
    return FALSE;
  f.inv_det = 1 / det;
  f.bx = (f.suu * f.sx - f.su * f.sux) * f.inv_det;
  f.bux = (f.n * f.sux - f.su * f.sx) * f.inv_det;

  n_rise = (guint) floor (log (TAU_RISE_MAX_MS / TAU_RISE_MIN_MS)
                          / log (TAU_STEP)) + 1;
  n_decay = (guint) floor (log (TAU_DECAY_MAX_MS / TAU_DECAY_MIN_MS)
                           / log (TAU_STEP)) + 1;
  n_tau = MAX (n_rise + n_decay, 2 * REFINE_TAUS);
  taus = g_new (Tau, n_tau);
  mem = g_new (double, n_tau * tau_size (&f));
  for (i = 0; i < n_rise + n_decay; i++)
    tau_init (&taus[i], &f, i < n_rise
              ? TAU_RISE_MIN_MS * pow (TAU_STEP, i)
              : TAU_DECAY_MIN_MS * pow (TAU_STEP, i - n_rise),
              f.t_lo, f.t_hi, mem + i * tau_size (&f));
  step = MAX (1, llround (ONSET_STEP_MS * fs / 1000));
  for (i = 0; i < n_rise; i++)
    for (j = 0; j < n_decay; j++)
      scan (&f, &taus[i], &taus[n_rise + j], f.t_lo, f.t_hi, step, &best);

  /* Finer around the best: REFINE_TAUS time constants spanning the last
   * grid's neighbours, then each round half as far (in log), with the
   * onsets near the best. */
  scale = sqrt (TAU_STEP);
  for (round = 0; round < REFINE_ROUNDS && best.gain > 0; round++)
    {
      Best around = best;
      gint64 reach = MAX (step, REFINE_ONSETS);
      gint64 from = around.t0 - reach, to = around.t0 + reach;

      for (i = 0; i < REFINE_TAUS; i++)
        {
          double ratio = pow (scale, (double) i - REFINE_TAUS / 2);

          tau_init (&taus[i], &f, CLAMP (around.tr * ratio, TAU_RISE_MIN_MS,
                                         TAU_RISE_MAX_MS), from, to,
                    mem + i * tau_size (&f));
          tau_init (&taus[REFINE_TAUS + i], &f,
                    CLAMP (around.td * ratio, TAU_DECAY_MIN_MS,
                           TAU_DECAY_MAX_MS), from, to,
                    mem + (REFINE_TAUS + i) * tau_size (&f));
        }
      for (i = 0; i < REFINE_TAUS; i++)
        for (j = 0; j < REFINE_TAUS; j++)
          scan (&f, &taus[i], &taus[REFINE_TAUS + j], from, to, 1, &best);
      scale = sqrt (scale);
      step = 1;
    }

  if (!(best.gain > 0) || best.t0 == f.t_lo || best.t0 == f.t_hi)
    return FALSE;

  fit->onset_ms = (best.t0 - pre_len) * 1000.0 / fs;
  fit->tau_rise_ms = best.tr;
  fit->tau_decay_ms = best.td;
  fit->amplitude = best.amplitude;
  baseline_of (&f, &best, mem, fit);
  imp_psp_kernel_times (best.tr, best.td, &fit->rise_ms, &fit->decay_ms);
  if (at_bound (best.tr, TAU_RISE_MIN_MS, TAU_RISE_MAX_MS))
    fit->rise_ms = NAN;
  if (at_bound (best.td, TAU_DECAY_MIN_MS, TAU_DECAY_MAX_MS))
    fit->decay_ms = NAN;
  return TRUE;
}
