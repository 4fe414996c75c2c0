/* imp-quantal-kernel.h
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

/* The E step of imp-quantal.c, included there once for each vector
 * width: KERNEL_LANES (2 or 4) bins at a time in GCC's generic vectors,
 * functions named with KERNEL_SUFFIX. The sums over bins are kept in
 * KERNEL_SUMS_LANES lanes whatever the width, and each bin's terms are
 * computed lane by lane with the same operations, so both widths give
 * the same bits. */

#define KERNEL_CAT2(a, b)  a ## b
#define KERNEL_CAT(a, b)   KERNEL_CAT2 (a, b)
#define KERNEL(name)       KERNEL_CAT (name, KERNEL_SUFFIX)
#define Vec                KERNEL (Vec)
#define VecInt             KERNEL (VecInt)
#define VecLoad            KERNEL (VecLoad)
#define BLOCK_VECS         (LOG_BATCH / KERNEL_LANES)
#define PARTS              (KERNEL_SUMS_LANES / KERNEL_LANES)

typedef double Vec __attribute__ ((vector_size (8 * KERNEL_LANES)));
typedef gint64 VecInt __attribute__ ((vector_size (8 * KERNEL_LANES)));
/* bins may start at any double */
typedef double VecLoad __attribute__ ((vector_size (8 * KERNEL_LANES),
                                       aligned (8)));

/* Whichever of @a and @b @mask (all bits set or clear per lane) picks. */
#define VEC_SELECT(mask, a, b) \
  ((Vec) (((mask) & (VecInt) (a)) | (~(mask) & (VecInt) (b))))

/* e^y for y in [-LOG_CUTOFF, 0] (beyond, the caller masks the result):
 * y = k·ln 2 + r with k the nearest integer to y / ln 2, so |r| ≤ ½ ln 2
 * (ln 2 in two parts, the first with 32 significant bits, so that k·hi
 * is exact for |k| < 2^21); e^r by its Taylor series to r^13 (the next
 * term is below 5·10^-18 of e^r), the 1 added last so that the small
 * terms' roundings shrink with them; 2^k built from its bits. The
 * relative error stays within two roundings (2.2·10^-16): test-quantal
 * compares it with the C library's exp(). */
G_ALWAYS_INLINE static inline void
KERNEL (exp_vec) (Vec *v)
{
  /* adding 1.5·2^52 leaves the nearest integer in the low bits */
  const double shift = 0x1.8p52;
  const double ln2_hi = 0x1.62e42feep-1;
  const double ln2_lo = 0x1.a39ef35793c76p-33;
  Vec y = *v;
  Vec t = y * 0x1.71547652b82fep+0 + shift;
  Vec k = t - shift;
  Vec r = (y - k * ln2_hi) - k * ln2_lo;
  Vec r2 = r * r, r4 = r2 * r2, r8 = r4 * r4;
  Vec e;

  /* Estrin's scheme: short chains of dependent operations */
  e = (0.5 + r * (1.0 / 6)) * r2
      + ((1.0 / 24 + r * (1.0 / 120)) + (1.0 / 720 + r * (1.0 / 5040)) * r2)
        * r4
      + (((1.0 / 40320 + r * (1.0 / 362880))
          + (1.0 / 3628800 + r * (1.0 / 39916800)) * r2)
         + (1.0 / 479001600 + r * (1.0 / 6227020800)) * r4) * r8;
  e = 1 + (r + e);
  /* 2^k: k + 1023 in the exponent field */
  *v = e * (Vec) (((VecInt) t << 52) + (((VecInt) { 0 } + 1023) << 52));
}

/* The E step for Gaussians with log weighted normalisers @lw, means @mu
 * and 1 / (2·variance) @inv: sets each Gaussian's sum of responsibilities
 * times the bins' counts to @R, of that times x to @S and times x² + v to
 * @Q, and returns the log-likelihood. Terms below e^-LOG_CUTOFF of a
 * bin's largest are left out. With the bin's spread v about its mean x,
 * the sum of log f over its c amplitudes is c·log f(x) + ½·c·v·(log f)″(x)
 * to second order, (log f)″ = Σ r·(g² − 1/σ²) − (Σ r·g)² with g the
 * derivative of each Gaussian's log: the error left is of the order of
 * c·(h/σ)⁴ for bins of width h on peaks of SD σ. The likelihoods of bins
 * of one amplitude are multiplied, and one log taken for each block of
 * LOG_BATCH bins (each factor lies in [1, K], and 21^32 is far from
 * overflow). */
KERNEL_TARGET static double
KERNEL (e_step) (const Data   *d,
                 guint         K,
                 const double *lw,
                 const double *mu,
                 const double *inv,
                 double       *R,
                 double       *S,
                 double       *Q)
{
  Vec sum_r[MAX_K][PARTS], sum_s[MAX_K][PARTS], sum_q[MAX_K][PARTS];
  double ll = 0;
  guint i0, j, k, part;

  g_assert (K <= MAX_K);

  for (k = 0; k < K; k++)
    for (part = 0; part < PARTS; part++)
      sum_r[k][part] = sum_s[k][part] = sum_q[k][part] = (Vec) { 0 };

  for (i0 = 0; i0 < d->n_bins; i0 += LOG_BATCH)
    {
      guint n = MIN (LOG_BATCH, d->n_bins - i0);
      guint n_vecs = (n + KERNEL_LANES - 1) / KERNEL_LANES;
      Vec l[MAX_K][BLOCK_VECS], x[BLOCK_VECS], top[BLOCK_VECS];
      Vec sum[BLOCK_VECS], inv_sum[BLOCK_VECS], spread[BLOCK_VECS];
      Vec ll_lanes[PARTS], factors[PARTS];
      double product = 1;

      for (j = 0; j < n_vecs; j++)
        {
          x[j] = *(const VecLoad *) &d->cols.x[i0 + KERNEL_LANES * j];
          top[j] = (Vec) { 0 } - INFINITY;
          sum[j] = (Vec) { 0 };
        }
      for (k = 0; k < K; k++)
        for (j = 0; j < n_vecs; j++)
          {
            Vec dx = x[j] - mu[k];

            l[k][j] = lw[k] - dx * dx * inv[k];
            top[j] = VEC_SELECT (top[j] > l[k][j], top[j], l[k][j]);
          }
      for (k = 0; k < K; k++)
        for (j = 0; j < n_vecs; j++)
          {
            Vec y = l[k][j] - top[j];
            VecInt keep = y > -LOG_CUTOFF;

            /* lanes left out may hold anything, even NaN */
            KERNEL (exp_vec) (&y);
            l[k][j] = (Vec) (keep & (VecInt) y);
            sum[j] += l[k][j];
          }
      for (j = 0; j < n_vecs; j++)
        {
          inv_sum[j] = 1 / sum[j];
          spread[j] = (Vec) { 0 };
        }
      /* the responsibilities and, for bins of a spread, the second-order
       * term */
      if (d->spread)
        {
          Vec g1[BLOCK_VECS] = { 0 }, g2[BLOCK_VECS] = { 0 };

          for (k = 0; k < K; k++)
            for (j = 0; j < n_vecs; j++)
              {
                Vec r = l[k][j] * inv_sum[j];
                Vec g = -2 * (x[j] - mu[k]) * inv[k];

                g1[j] += r * g;
                g2[j] += r * (g * g - 2 * inv[k]);
              }
          for (j = 0; j < n_vecs; j++)
            {
              const Vec c = *(const VecLoad *) &d->cols.c[i0 + KERNEL_LANES * j];
              const Vec v = *(const VecLoad *) &d->cols.v[i0 + KERNEL_LANES * j];

              spread[j] = (Vec) ((v > 0)
                                 & (VecInt) (0.5 * c * v
                                             * (g2[j] - g1[j] * g1[j])));
            }
        }
      /* the log-likelihood: c·top and the spread's terms added in lanes,
       * the sums of bins of one amplitude multiplied, those of the other
       * bins' logged one by one; the empty bins that pad the last vector
       * add nothing */
      for (part = 0; part < PARTS; part++)
        {
          ll_lanes[part] = (Vec) { 0 };
          factors[part] = (Vec) { 0 } + 1;
        }
      for (j = 0; j < n_vecs; j++)
        {
          const Vec c = *(const VecLoad *) &d->cols.c[i0 + KERNEL_LANES * j];

          ll_lanes[j % PARTS] += (Vec) ((c > 0) & (VecInt) (c * top[j]))
                                 + spread[j];
          factors[j % PARTS] *= VEC_SELECT (c == 1, sum[j], (Vec) { 0 } + 1);
        }
      for (part = 0; part < PARTS; part++)
        for (j = 0; j < KERNEL_LANES; j++)
          {
            ll += ll_lanes[part][j];
            product *= factors[part][j];
          }
      ll += log (product);
      if (!d->ones)
        for (j = 0; j < n; j++)
          {
            double c = d->cols.c[i0 + j];

            if (c != 1)
              ll += c * log (sum[j / KERNEL_LANES][j % KERNEL_LANES]);
          }
      for (k = 0; k < K; k++)
        for (j = 0; j < n_vecs; j++)
          {
            const Vec c = *(const VecLoad *) &d->cols.c[i0 + KERNEL_LANES * j];
            const Vec xx = *(const VecLoad *) &d->cols.xx[i0 + KERNEL_LANES * j];
            Vec r = l[k][j] * inv_sum[j];

            r = (Vec) ((r > 0) & (VecInt) (r * c));
            sum_r[k][j % PARTS] += r;
            sum_s[k][j % PARTS] += r * x[j];
            sum_q[k][j % PARTS] += r * xx;
          }
    }
  for (k = 0; k < K; k++)
    {
      R[k] = S[k] = Q[k] = 0;
      for (part = 0; part < PARTS; part++)
        for (j = 0; j < KERNEL_LANES; j++)
          {
            R[k] += sum_r[k][part][j];
            S[k] += sum_s[k][part][j];
            Q[k] += sum_q[k][part][j];
          }
    }
  return ll;
}

#undef VEC_SELECT
#undef PARTS
#undef BLOCK_VECS
#undef VecLoad
#undef VecInt
#undef Vec
#undef KERNEL
#undef KERNEL_CAT
#undef KERNEL_CAT2
