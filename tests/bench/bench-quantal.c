/* bench-quantal.c
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <math.h>
#include <stdio.h>
#include <time.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "imp-quantal.h"

/* The quantal fit of one connection, 200 amplitudes, with the default
 * parameters (10 orders, 100 bootstrap replicates): CPU time per fit over
 * 40 connections of clear quanta (which get the bootstrap) and 40 of
 * Gaussian amplitudes (refused). The target is well under 50 ms a fit;
 * the program fails above 25 ms. */
#define N_AMPLITUDES 200
#define N_FITS       40
#define TARGET_MS    25.0

static double
time_fits (gboolean quantal)
{
  gsl_rng *rng = gsl_rng_alloc (gsl_rng_mt19937);
  float x[N_AMPLITUDES];
  ImpQuantalParams params;
  ImpQuantalFit fit;
  clock_t total = 0;

  imp_quantal_params_init_default (&params);
  for (guint f = 0; f < N_FITS; f++)
    {
      clock_t start;

      gsl_rng_set (rng, f + 1);
      for (guint i = 0; i < N_AMPLITUDES; i++)
        {
          unsigned int k = gsl_ran_binomial (rng, 0.5, 4);

          x[i] = quantal ? (float) (0.5 * k + gsl_ran_gaussian (rng, 0.1))
                         : (float) (1.0 + gsl_ran_gaussian (rng, 0.5));
        }
      start = clock ();
      imp_quantal_fit (x, N_AMPLITUDES, 0, NAN, &params, f, &fit);
      total += clock () - start;
    }
  gsl_rng_free (rng);
  return 1000.0 * total / CLOCKS_PER_SEC / N_FITS;
}

int
main (void)
{
  double quanta = time_fits (TRUE);
  double gauss = time_fits (FALSE);

  printf ("quantal fit of %d amplitudes: %.2f ms with quanta (bootstrap), "
          "%.2f ms without (CPU time per fit)\n", N_AMPLITUDES, quanta,
          gauss);
  return quanta <= TARGET_MS && gauss <= TARGET_MS ? 0 : 1;
}
