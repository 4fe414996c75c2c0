/* imp-simulate.h
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

#include "imp-progress.h"

G_BEGIN_DECLS

/* A simulated cultured network on an electrode grid, with ground truth. */
typedef struct
{
  guint    n_neurons;          /* channels; one neuron per electrode,
                                  default 64 */
  double   duration_s;         /* default 60 */
  guint64  seed;               /* default 1 */
  double   sample_rate_hz;     /* default 10000 */
  double   electrode_pitch_um; /* grid spacing, default 30 */
  double   connection_prob;    /* per ordered pair, default 0.08; 0 = no synapses */
  double   inhibitory_frac;    /* fraction of inhibitory neurons, default 0.2 */
  double   no_access_frac;     /* channels without intracellular access, default 0.15 */
  double   rate_hz;            /* mean spontaneous firing rate, default 2 */
  double   noise_mv;           /* recording noise SD, default 0.3 */
  double   quantal_mv;         /* mean quantal size, default 0.4 */
  double   burst_prob;         /* chance a spontaneous AP starts a burst of
                                  3-5 APs at 125-200 Hz, default 0.1 */
  gboolean synaptic_drive;     /* summed PSPs can make a cell fire,
                                  default TRUE */
  double   drift_mv;           /* SD of the slow baseline drift, default 0.5 */
  double   max_mean_inputs;    /* connection_prob is lowered so a neuron
                                  expects at most this many synapses onto
                                  it; default 20, 0 = no limit */
  /* Hard cases (docs/simulator.md), all off by default. */
  double   weak_decades;       /* each synapse's quantal size is scaled by
                                  10^-U(0, this), default 0 */
  double   noise_mv_max;       /* per-channel noise SD drawn uniformly from
                                  noise_mv to this; default 0 (all noise_mv) */
  double   scale_drift;        /* relative slow drift of each channel's
                                  coupling factor, default 0 */
  double   network_burst_hz;   /* network bursts per second, default 0 */
  double   network_burst_mv;   /* their peak depolarisation, default 6 mV */
  double   network_burst_frac; /* fraction of neurons taking part, default 0.5 */
  guint    n_hidden;           /* unrecorded neurons, each driving two
                                  recorded cells, default 0 */
  double   hidden_mv;          /* their mean PSP, default 6 mV */
  double   crosstalk;          /* largest zero-latency coupling between
                                  neighbouring electrodes, default 0 */
  gboolean vary_ahp;           /* each cell its own after-hyperpolarisation,
                                  default FALSE */
  double   distal_frac;        /* fraction of excitatory synapses far out on
                                  the dendrite, whose PSPs rise and decay
                                  slowly at the soma, default 0 */
} ImpSimParams;


void     imp_sim_params_init_default (ImpSimParams      *params);
void     imp_sim_params_init_hard    (ImpSimParams      *params);
gboolean imp_sim_params_set_preset   (ImpSimParams      *params,
                                      const char        *name,
                                      GError           **error);

/* Writes a native recording to @output and the true connections (MAP.csv
 * columns; amplitude is the mean PSP, latency the synaptic delay, p_value 0,
 * n_pre_aps the number of presynaptic APs; then snr and kind, with the
 * traps as rows of their own kind) to @truth_csv (may be NULL). */
gboolean imp_simulate                (const ImpSimParams *params,
                                      const char         *output,
                                      const char         *truth_csv,
                                      ImpProgressFunc     progress,
                                      gpointer            user_data,
                                      GCancellable       *cancellable,
                                      GError            **error);

G_END_DECLS
