/* imp-simulate.c
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <math.h>
#include <string.h>

#include <glib/gstdio.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "imp-map.h"
#include "imp-native.h"
#include "imp-simulate.h"

/* The model; docs/simulator.md explains each number. */
#define E_RISE_MS          0.5
#define E_DECAY_MS         15.0
#define I_RISE_MS          1.0
#define I_DECAY_MS         20.0
#define DELAY_MIN_MS       1.0
#define DELAY_MAX_MS       5.0
#define SITES_MAX          10
#define RELEASE_P_MIN      0.1
#define RELEASE_P_MAX      0.9
#define QUANTUM_SYNAPSE_CV 0.25   /* spread of quantal size between synapses */
#define QUANTUM_CV         0.1    /* spread of one quantum within a synapse */
#define REST_MV            (-65.0)
#define REST_SD_MV         3.0
#define AP_HEIGHT_MV       80.0
#define AP_HEIGHT_SD_MV    3.0
#define AP_RISE_MS         0.5
#define AP_FALL_MS         0.75
#define AP_TABLE_MS        3.0
#define AHP_MV             8.0
#define AHP_RISE_MS        1.0
#define AHP_DECAY_MS       15.0
#define REFRACTORY_MS      4.0
#define BURST_ISI_MIN_MS   5.0
#define BURST_ISI_MAX_MS   8.0
#define RATE_SHAPE         4.0    /* gamma shape of the spread of rates */
#define DRIVE_THRESHOLD_MV 5.0
#define DRIVE_SLOPE_MV     3.0
#define DRIVE_MAX_HZ       300.0
#define DRIFT_TAU_S        2.0
#define SCALE_MIN          0.3    /* Ve = scale * Vm, scale per channel */
#define SCALE_MAX          1.0
#define VE_STEP_MV         (1.0 / 300.0)  /* ADC step of Ve: ±109 mV range */
#define BLOCK_SAMPLES      8192
/* The recording noise is drawn on a thread of its own, a segment of at
 * most NOISE_SEGMENT substeps ahead, in NOISE_SEGMENTS buffers. */
#define NOISE_SEGMENT      64
#define NOISE_SEGMENTS     3
/* Hard cases */
#define NET_RISE_MS        20.0   /* network burst envelope */
#define NET_DECAY_MS       150.0
#define HIDDEN_SITES       10
#define HIDDEN_P_RELEASE   0.8
#define SCALE_PERIOD_MIN_S 60.0   /* coupling factor drift periods */
#define SCALE_PERIOD_MAX_S 300.0
#define AHP_MV_MIN         4.0    /* with vary_ahp */
#define AHP_MV_MAX         12.0
#define AHP_DECAY_MIN_MS   10.0
#define AHP_DECAY_MAX_MS   40.0
#define CROSSTALK_P        0.5    /* chance that two neighbours couple */
#define CROSSTALK_MIN      0.3    /* of the largest coupling */
#define DISTAL_RISE_MS     3.0    /* a distal synapse's PSP at the soma */
#define DISTAL_DECAY_MS    30.0

G_DEFINE_AUTOPTR_CLEANUP_FUNC (gsl_rng, gsl_rng_free)

typedef struct
{
  guint post;
  guint delay;        /* samples from the presynaptic AP peak to PSP onset */
  guint n_sites;
  float p_release;
  gboolean distal;    /* far out on the dendrite: slow at the soma */
  double quantum_mv;  /* mean quantal size, > 0 */
} Synapse;

typedef struct
{
  /* fixed */
  gboolean inhibitory;
  gboolean access;
  double   rate_hz;
  double   rest_mv;
  double   ap_mv;
  double   gain;        /* mV of Vm per stored count */
  double   noise_mv;
  double   ahp_mv;
  double   h_da, h_db, h_norm;  /* the AHP kernel */
  double   net_mv;      /* network burst depolarisation; 0: not taking part */
  double   scale_period_s;     /* coupling factor drift */
  double   scale_phase;
  guint    syn_first;
  guint    n_syn;
  /* state */
  double   ea, eb;      /* excitatory input, slow and fast exponentials */
  double   ia, ib;      /* inhibitory input */
  double   da, db;      /* excitatory input from distal synapses */
  double   ha, hb;      /* after-hyperpolarisation */
  double   na, nb;      /* network burst envelope */
  double   sub_sum;     /* membrane potential without APs, minus rest */
  double   sub_sum2;
  double   drift;
  gint64   next_spont;
  gint64   ap_onset;
  gint64   ahp_at;
  gint64   refractory_until;
  guint    burst_left;
  guint    n_aps;       /* AP peaks inside the recording */
} Neuron;

typedef struct
{
  guint  a, b;
  double c;
} Crosstalk;

typedef struct
{
  const ImpSimParams *params;
  guint     n;          /* recorded neurons (channels) */
  guint     n_all;      /* with the hidden ones */
  double    fs;
  gint64    n_samples;
  gsl_rng  *spike_rng;
  gsl_rng  *noise_rng;
  Neuron   *neurons;
  GArray   *synapses;
  float    *ring_e;     /* n × ring_len: PSP peak amplitudes arriving */
  float    *ring_i;
  float    *ring_d;     /* distal excitatory; NULL without distal_frac */
  guint     ring_len;
  float    *ap_table;
  guint     ap_len;
  guint     ap_peak;
  guint     refractory;
  /* per-sample decay factors and peak normalisations of the kernels */
  double    e_da, e_db, e_norm;
  double    i_da, i_db, i_norm;
  double    d_da, d_db, d_norm;
  double    h_da, h_db, h_norm;
  double    n_da, n_db, n_norm;
  double    drift_a, drift_b;
  gsl_rng  *burst_rng;
  gint64    next_net_burst;
  GArray   *crosstalk;  /* Crosstalk */
  GArray   *shared;     /* guint pairs driven by one hidden neuron */
  double   *values;     /* BLOCK_SAMPLES × n: what each electrode sees, mV */
  float    *clean;      /* BLOCK_SAMPLES × n: Vm - rest, for crosstalk */
  guint     substep;
  double    connection_prob;  /* as used, after max_mean_inputs */
} Sim;

void
imp_sim_params_init_default (ImpSimParams *params)
{
  g_return_if_fail (params != NULL);

  memset (params, 0, sizeof *params);
  params->n_neurons = 64;
  params->duration_s = 60.0;
  params->seed = 1;
  params->sample_rate_hz = 10000.0;
  params->electrode_pitch_um = 30.0;
  params->connection_prob = 0.08;
  params->inhibitory_frac = 0.2;
  params->no_access_frac = 0.15;
  params->rate_hz = 2.0;
  params->noise_mv = 0.3;
  params->quantal_mv = 0.4;
  params->burst_prob = 0.1;
  params->synaptic_drive = TRUE;
  params->drift_mv = 0.5;
  params->max_mean_inputs = 20.0;
  params->network_burst_mv = 6.0;
  params->network_burst_frac = 0.5;
  params->hidden_mv = 6.0;
}

/**
 * imp_sim_params_init_hard:
 * @params: (out caller-allocates): the parameters
 *
 * The defaults with every hard case on (docs/simulator.md): synapses
 * spread over 0.6 decades of size, 30 % inhibitory neurons, noise 0.3 to
 * 0.8 mV by channel, coupling factors drifting by 20 %, network bursts,
 * six hidden drivers, crosstalk up to 3 % and an AHP per cell.
 */
void
imp_sim_params_init_hard (ImpSimParams *params)
{
  g_return_if_fail (params != NULL);

  imp_sim_params_init_default (params);
  params->weak_decades = 0.6;
  params->inhibitory_frac = 0.3;
  params->noise_mv = 0.3;
  params->noise_mv_max = 0.8;
  params->scale_drift = 0.2;
  params->network_burst_hz = 0.2;
  params->n_hidden = 6;
  params->crosstalk = 0.03;
  params->vary_ahp = TRUE;
}

/**
 * imp_sim_params_set_preset:
 * @params: the parameters to overwrite
 * @name: "default" or "hard"
 * @error: return location for a #GError
 *
 * Returns: %TRUE when @name is a preset
 */
gboolean
imp_sim_params_set_preset (ImpSimParams  *params,
                           const char    *name,
                           GError       **error)
{
  g_return_val_if_fail (params != NULL, FALSE);
  g_return_val_if_fail (name != NULL, FALSE);

  if (g_strcmp0 (name, "default") == 0)
    imp_sim_params_init_default (params);
  else if (g_strcmp0 (name, "hard") == 0)
    imp_sim_params_init_hard (params);
  else
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "Unknown preset '%s' (default, hard)", name);
      return FALSE;
    }
  return TRUE;
}

/* Distinct, well-mixed 32-bit seeds for the independent streams
 * (mt19937 uses 32 bits of its seed). */
static gsl_rng *
new_stream (guint64 seed,
            guint64 stream)
{
  gsl_rng *rng = gsl_rng_alloc (gsl_rng_mt19937);
  guint64 z = seed + 0x9e3779b97f4a7c15ull * (stream + 1);

  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  z ^= z >> 31;
  gsl_rng_set (rng, (unsigned long) ((z ^ (z >> 32)) & 0xffffffffu));
  return rng;
}

/* A double exponential (e^{-t/decay} - e^{-t/rise}) scaled to peak 1,
 * as two first-order recursions: per-sample factors and the weight an
 * impulse adds to both states. */
static void
kernel_factors (double  rise_ms,
                double  decay_ms,
                double  fs,
                double *da,
                double *db,
                double *norm)
{
  double tpeak = rise_ms * decay_ms / (decay_ms - rise_ms)
                 * log (decay_ms / rise_ms);

  *da = exp (-1000.0 / (fs * decay_ms));
  *db = exp (-1000.0 / (fs * rise_ms));
  *norm = 1.0 / (exp (-tpeak / decay_ms) - exp (-tpeak / rise_ms));
}

static guint
ms_to_samples (double ms,
               double fs)
{
  return (guint) MAX (1.0, round (ms * fs / 1000.0));
}

/* Shuffles 0..n-1 and marks the first @count as chosen. */
static gboolean *
choose_subset (gsl_rng *rng,
               guint    n,
               guint    count)
{
  g_autofree guint *order = g_new (guint, n);
  gboolean *chosen = g_new0 (gboolean, n);
  guint i;

  for (i = 0; i < n; i++)
    order[i] = i;
  gsl_ran_shuffle (rng, order, n, sizeof (guint));
  for (i = 0; i < MIN (count, n); i++)
    chosen[order[i]] = TRUE;
  return chosen;
}

static gboolean
has_synapse (const Sim *sim,
             guint      pre,
             guint      post)
{
  const Neuron *nr = &sim->neurons[pre];
  guint s;

  for (s = nr->syn_first; s < nr->syn_first + nr->n_syn; s++)
    if (g_array_index (sim->synapses, Synapse, s).post == post)
      return TRUE;
  return FALSE;
}

/* Hidden neurons (after the recorded ones), each with strong synapses
 * onto two recorded cells with access that are not connected either
 * way. */
static void
build_hidden (Sim     *sim,
              gsl_rng *rng)
{
  const ImpSimParams *p = sim->params;
  g_autofree guint *seen = g_new (guint, sim->n);
  guint n_seen = 0, h, i;

  for (i = 0; i < sim->n; i++)
    if (sim->neurons[i].access)
      seen[n_seen++] = i;

  for (h = sim->n; h < sim->n_all; h++)
    {
      Neuron *nr = &sim->neurons[h];
      guint a = 0, b = 0, tries;

      nr->rate_hz = p->rate_hz * gsl_ran_gamma (rng, RATE_SHAPE,
                                                1.0 / RATE_SHAPE);
      nr->rest_mv = REST_MV;
      nr->ap_mv = AP_HEIGHT_MV;
      nr->gain = 1.0;
      nr->syn_first = sim->synapses->len;
      for (tries = 0; n_seen >= 2 && tries < 100; tries++)
        {
          a = seen[gsl_rng_uniform_int (rng, n_seen)];
          b = seen[gsl_rng_uniform_int (rng, n_seen)];
          if (a != b && !has_synapse (sim, a, b) && !has_synapse (sim, b, a))
            break;
        }
      if (n_seen >= 2 && tries < 100)
        {
          guint targets[2] = { a, b };
          guint k;

          for (k = 0; k < 2; k++)
            {
              Synapse s;
              double delay_ms = DELAY_MIN_MS + (DELAY_MAX_MS - DELAY_MIN_MS)
                                               * gsl_rng_uniform (rng);

              s.post = targets[k];
              s.delay = ms_to_samples (delay_ms, sim->fs);
              s.n_sites = HIDDEN_SITES;
              s.distal = FALSE;
              s.p_release = HIDDEN_P_RELEASE;
              s.quantum_mv = p->hidden_mv / (HIDDEN_SITES * HIDDEN_P_RELEASE);
              g_array_append_val (sim->synapses, s);
            }
          g_array_append_val (sim->shared, a);
          g_array_append_val (sim->shared, b);
        }
      nr->n_syn = sim->synapses->len - nr->syn_first;
    }
}

/* Each hard case draws from a stream of its own, so that the default
 * network stays as it was and turning one case on or off changes none of
 * the others. */
static void
build_hard_cases (Sim *sim)
{
  const ImpSimParams *p = sim->params;
  g_autoptr(gsl_rng) noise_rng = new_stream (p->seed, 10);
  g_autoptr(gsl_rng) ahp_rng = new_stream (p->seed, 11);
  g_autoptr(gsl_rng) burst_rng = new_stream (p->seed, 12);
  g_autoptr(gsl_rng) scale_rng = new_stream (p->seed, 13);
  g_autoptr(gsl_rng) crosstalk_rng = new_stream (p->seed, 14);
  g_autoptr(gsl_rng) hidden_rng = new_stream (p->seed, 15);
  g_autoptr(gsl_rng) distal_rng = new_stream (p->seed, 16);
  guint side = (guint) ceil (sqrt ((double) sim->n));
  guint i;

  for (i = 0; i < sim->n; i++)
    {
      Neuron *nr = &sim->neurons[i];

      if (p->noise_mv_max > p->noise_mv)
        nr->noise_mv += (p->noise_mv_max - p->noise_mv)
                        * gsl_rng_uniform (noise_rng);
      if (p->vary_ahp)
        {
          nr->ahp_mv = AHP_MV_MIN + (AHP_MV_MAX - AHP_MV_MIN)
                                    * gsl_rng_uniform (ahp_rng);
          kernel_factors (AHP_RISE_MS, AHP_DECAY_MIN_MS
                          + (AHP_DECAY_MAX_MS - AHP_DECAY_MIN_MS)
                            * gsl_rng_uniform (ahp_rng), sim->fs,
                          &nr->h_da, &nr->h_db, &nr->h_norm);
        }
      if (p->network_burst_hz > 0
          && gsl_rng_uniform (burst_rng) < p->network_burst_frac)
        nr->net_mv = p->network_burst_mv;
      if (p->scale_drift > 0)
        {
          nr->scale_period_s = SCALE_PERIOD_MIN_S
                               + (SCALE_PERIOD_MAX_S - SCALE_PERIOD_MIN_S)
                                 * gsl_rng_uniform (scale_rng);
          nr->scale_phase = 2 * G_PI * gsl_rng_uniform (scale_rng);
        }
    }

  /* Distal synapses of the recorded excitatory neurons. The dendrite
   * spreads a PSP's charge out in time without losing it: its peak at
   * the soma is lower by the ratio of the kernels' areas (each kernel
   * has peak 1, so its area is norm × (decay - rise)). */
  if (p->distal_frac > 0)
    {
      double scale = sim->e_norm * (E_DECAY_MS - E_RISE_MS)
                     / (sim->d_norm * (DISTAL_DECAY_MS - DISTAL_RISE_MS));
      for (i = 0; i < sim->n; i++)
        {
          Neuron *nr = &sim->neurons[i];
          guint s;

          for (s = nr->syn_first;
               !nr->inhibitory && s < nr->syn_first + nr->n_syn; s++)
            {
              Synapse *syn = &g_array_index (sim->synapses, Synapse, s);

              syn->distal = gsl_rng_uniform (distal_rng) < p->distal_frac;
              if (syn->distal)
                syn->quantum_mv *= scale;
            }
        }
    }

  /* Neighbours right and below, both with access. */
  if (p->crosstalk > 0)
    for (i = 0; i < sim->n; i++)
      {
        guint nb[2] = { i % side + 1 < side ? i + 1 : G_MAXUINT, i + side };
        guint k;

        for (k = 0; k < 2; k++)
          {
            Crosstalk x;

            if (nb[k] >= sim->n || !sim->neurons[i].access
                || !sim->neurons[nb[k]].access
                || gsl_rng_uniform (crosstalk_rng) >= CROSSTALK_P)
              continue;
            x.a = i;
            x.b = nb[k];
            x.c = p->crosstalk * (CROSSTALK_MIN + (1 - CROSSTALK_MIN)
                                  * gsl_rng_uniform (crosstalk_rng));
            g_array_append_val (sim->crosstalk, x);
          }
      }

  build_hidden (sim, hidden_rng);
}

static void
build_network (Sim     *sim,
               gsl_rng *rng)
{
  const ImpSimParams *p = sim->params;
  g_autofree gboolean *inhibitory = NULL;
  g_autofree gboolean *no_access = NULL;
  double prob = p->connection_prob;
  guint i, j;

  /* A large network at the same pair probability would give each neuron
   * hundreds of inputs and unrealistically dense, runaway activity. */
  if (p->max_mean_inputs > 0 && sim->n > 1)
    prob = MIN (prob, p->max_mean_inputs / (sim->n - 1));
  sim->connection_prob = prob;

  inhibitory = choose_subset (rng, sim->n,
                              (guint) round (p->inhibitory_frac * sim->n));
  no_access = choose_subset (rng, sim->n,
                             (guint) round (p->no_access_frac * sim->n));

  for (i = 0; i < sim->n; i++)
    {
      Neuron *nr = &sim->neurons[i];
      double scale;

      nr->inhibitory = inhibitory[i];
      nr->access = !no_access[i];
      nr->rate_hz = p->rate_hz * gsl_ran_gamma (rng, RATE_SHAPE,
                                                1.0 / RATE_SHAPE);
      nr->rest_mv = REST_MV + gsl_ran_gaussian (rng, REST_SD_MV);
      nr->ap_mv = AP_HEIGHT_MV + gsl_ran_gaussian (rng, AP_HEIGHT_SD_MV);
      scale = SCALE_MIN + (SCALE_MAX - SCALE_MIN) * gsl_rng_uniform (rng);
      nr->gain = VE_STEP_MV / scale;
      nr->noise_mv = p->noise_mv;
    }
  for (i = 0; i < sim->n_all; i++)
    {
      Neuron *nr = &sim->neurons[i];

      nr->ahp_mv = AHP_MV;
      nr->h_da = sim->h_da;
      nr->h_db = sim->h_db;
      nr->h_norm = sim->h_norm;
    }

  /* Sparse: each neuron keeps a list of its outgoing synapses. */
  for (i = 0; i < sim->n; i++)
    {
      sim->neurons[i].syn_first = sim->synapses->len;
      for (j = 0; j < sim->n; j++)
        {
          Synapse s;
          double delay_ms;

          if (i == j || gsl_rng_uniform (rng) >= prob)
            continue;
          delay_ms = DELAY_MIN_MS
                     + (DELAY_MAX_MS - DELAY_MIN_MS) * gsl_rng_uniform (rng);
          s.post = j;
          s.delay = ms_to_samples (delay_ms, sim->fs);
          s.n_sites = 1 + gsl_rng_uniform_int (rng, SITES_MAX);
          s.distal = FALSE;
          s.p_release = (float) (RELEASE_P_MIN + (RELEASE_P_MAX - RELEASE_P_MIN)
                                 * gsl_rng_uniform (rng));
          s.quantum_mv = (p->quantal_mv
                                  * gsl_ran_lognormal (rng, 0,
                                                       QUANTUM_SYNAPSE_CV));
          if (p->weak_decades > 0)
            s.quantum_mv *= pow (10.0, -p->weak_decades
                                       * gsl_rng_uniform (rng));
          g_array_append_val (sim->synapses, s);
        }
      sim->neurons[i].n_syn = sim->synapses->len - sim->neurons[i].syn_first;
    }

  build_hard_cases (sim);
}

static void
build_ap_table (Sim *sim)
{
  guint k;

  sim->ap_len = ms_to_samples (AP_TABLE_MS, sim->fs);
  sim->ap_peak = ms_to_samples (AP_RISE_MS, sim->fs);
  sim->ap_table = g_new (float, sim->ap_len);
  for (k = 0; k < sim->ap_len; k++)
    {
      double t = k * 1000.0 / sim->fs;
      double rise = AP_RISE_MS;

      /* Smooth upstroke to the peak, Gaussian repolarisation; the AHP is
       * added separately from the peak on. */
      if (k < sim->ap_peak)
        sim->ap_table[k] = (float) (0.5 * (1 - cos (G_PI * t / rise)));
      else
        sim->ap_table[k] = (float) exp (-pow ((t - rise) / AP_FALL_MS, 2));
    }
}

static double
draw_isi_samples (Sim    *sim,
                  Neuron *nr)
{
  if (nr->rate_hz <= 0)
    return (double) G_MAXINT64 / 4;
  return gsl_ran_exponential (sim->spike_rng, 1.0 / nr->rate_hz) * sim->fs;
}

static void
fire (Sim      *sim,
      guint     k,
      gint64    t,
      gboolean  spontaneous)
{
  Neuron *nr = &sim->neurons[k];
  gint64 peak = t + sim->ap_peak;
  guint s;

  nr->ap_onset = t;
  nr->ahp_at = peak;
  nr->refractory_until = t + sim->refractory;
  if (peak < sim->n_samples)
    nr->n_aps++;

  if (spontaneous)
    {
      double isi;

      if (nr->burst_left == 0
          && gsl_rng_uniform (sim->spike_rng) < sim->params->burst_prob)
        nr->burst_left = 2 + gsl_rng_uniform_int (sim->spike_rng, 3);
      if (nr->burst_left > 0)
        {
          nr->burst_left--;
          isi = (BURST_ISI_MIN_MS + (BURST_ISI_MAX_MS - BURST_ISI_MIN_MS)
                 * gsl_rng_uniform (sim->spike_rng)) * sim->fs / 1000.0;
        }
      else
        isi = draw_isi_samples (sim, nr);
      nr->next_spont = t + MAX ((gint64) round (isi), 1);
    }

  /* Quantal release at each synapse: binomial(n, p) quanta, each of
   * about the synapse's quantal size. */
  for (s = nr->syn_first; s < nr->syn_first + nr->n_syn; s++)
    {
      const Synapse *syn = &g_array_index (sim->synapses, Synapse, s);
      unsigned int quanta;
      double amp;
      gsize slot;

      quanta = gsl_ran_binomial (sim->spike_rng, syn->p_release, syn->n_sites);
      if (quanta == 0)
        continue;
      amp = quanta * syn->quantum_mv
            + gsl_ran_gaussian_ziggurat (sim->spike_rng,
                                         QUANTUM_CV * syn->quantum_mv
                                         * sqrt (quanta));
      if (amp <= 0)
        continue;
      slot = (gsize) syn->post * sim->ring_len
             + (gsize) ((peak + syn->delay) % sim->ring_len);
      if (nr->inhibitory)
        sim->ring_i[slot] += (float) amp;
      else if (syn->distal)
        sim->ring_d[slot] += (float) amp;
      else
        sim->ring_e[slot] += (float) amp;
    }
}

/* Advances neuron @k over samples [t0, t1) and stores what its electrode
 * sees (mV, before crosstalk and coupling) into the time-major block
 * sim->values that starts at @block_start; hidden neurons have none. */
static void
step_neuron (Sim           *sim,
             guint          k,
             gint64         t0,
             gint64         t1,
             gint64         block_start,
             const double **noise)
{
  Neuron *nr = &sim->neurons[k];
  const ImpSimParams *p = sim->params;
  float *ring_e = sim->ring_e + (gsize) k * sim->ring_len;
  float *ring_i = sim->ring_i + (gsize) k * sim->ring_len;
  float *ring_d = sim->ring_d != NULL
                  ? sim->ring_d + (gsize) k * sim->ring_len : NULL;
  gboolean recorded = k < sim->n;
  gint64 t;

  if (recorded)
    nr->drift = nr->drift * sim->drift_a + sim->drift_b * *(*noise)++;

  for (t = t0; t < t1; t++)
    {
      gsize slot = (gsize) (t % sim->ring_len);
      double v_syn, v_ahp, value, ap = 0;
      gsize at;

      if (ring_e[slot] != 0.0f)
        {
          nr->ea += ring_e[slot] * sim->e_norm;
          nr->eb += ring_e[slot] * sim->e_norm;
          ring_e[slot] = 0.0f;
        }
      if (ring_i[slot] != 0.0f)
        {
          nr->ia += ring_i[slot] * sim->i_norm;
          nr->ib += ring_i[slot] * sim->i_norm;
          ring_i[slot] = 0.0f;
        }
      if (ring_d != NULL && ring_d[slot] != 0.0f)
        {
          nr->da += ring_d[slot] * sim->d_norm;
          nr->db += ring_d[slot] * sim->d_norm;
          ring_d[slot] = 0.0f;
        }
      if (t == nr->ahp_at)
        {
          nr->ha += nr->ahp_mv * nr->h_norm;
          nr->hb += nr->ahp_mv * nr->h_norm;
        }
      v_syn = (nr->ea - nr->eb) - (nr->ia - nr->ib) + (nr->na - nr->nb)
              + (nr->da - nr->db);
      v_ahp = nr->ha - nr->hb;

      if (t >= nr->refractory_until)
        {
          if (t >= nr->next_spont)
            fire (sim, k, t, TRUE);
          else if (p->synaptic_drive
                   && v_syn - v_ahp > DRIVE_THRESHOLD_MV)
            {
              double hz = DRIVE_MAX_HZ
                          * (1 - exp (-(v_syn - v_ahp - DRIVE_THRESHOLD_MV)
                                      / DRIVE_SLOPE_MV));

              if (gsl_rng_uniform (sim->spike_rng) < hz / sim->fs)
                fire (sim, k, t, FALSE);
            }
        }

      nr->ea *= sim->e_da;
      nr->eb *= sim->e_db;
      nr->ia *= sim->i_da;
      nr->ib *= sim->i_db;
      nr->da *= sim->d_da;
      nr->db *= sim->d_db;
      nr->ha *= nr->h_da;
      nr->hb *= nr->h_db;
      nr->na *= sim->n_da;
      nr->nb *= sim->n_db;

      if (!recorded)
        continue;

      at = (gsize) (t - block_start) * sim->n + k;
      value = nr->drift + nr->noise_mv * *(*noise)++;
      if (nr->access)
        {
          value += nr->rest_mv + v_syn - v_ahp;
          nr->sub_sum += value - nr->rest_mv;
          nr->sub_sum2 += (value - nr->rest_mv) * (value - nr->rest_mv);
          if (t - nr->ap_onset < (gint64) sim->ap_len && t >= nr->ap_onset)
            ap = nr->ap_mv * sim->ap_table[t - nr->ap_onset];
          value += ap;
          if (sim->clean != NULL)
            sim->clean[at] = (float) (v_syn - v_ahp + ap);
        }
      sim->values[at] = value;
    }
}

/* Mixes the electrodes' values of samples [t0, t1) into counts: crosstalk
 * from coupled neighbours, then the coupling factor (drifting). */
static void
record_block (Sim    *sim,
              gint64  t0,
              gint64  t1,
              gint16 *counts)
{
  const ImpSimParams *p = sim->params;
  guint n = sim->n, i, k;
  gint64 t;

  for (t = t0; t < t1; t++)
    {
      double *v = sim->values + (gsize) (t - t0) * n;
      const float *cl = sim->clean + (gsize) (t - t0) * n;

      if (sim->clean != NULL)
        for (i = 0; i < sim->crosstalk->len; i++)
          {
            const Crosstalk *x = &g_array_index (sim->crosstalk, Crosstalk, i);

            v[x->a] += x->c * cl[x->b];
            v[x->b] += x->c * cl[x->a];
          }
      for (k = 0; k < n; k++)
        {
          const Neuron *nr = &sim->neurons[k];
          double scale = 1.0, c;

          if (p->scale_drift > 0)
            scale += p->scale_drift
                     * sin (2 * G_PI * t / (sim->fs * nr->scale_period_s)
                            + nr->scale_phase);
          c = nearbyint (v[k] * scale * (1.0 / nr->gain));
          counts[(gsize) (t - t0) * n + k] = (gint16) CLAMP (c, -32767.0,
                                                              32767.0);
        }
    }
}

/* A network burst: every neuron taking part gets a slow depolarisation of
 * half to all of network_burst_mv. */
static void
network_burst (Sim    *sim,
               gint64  t)
{
  guint k;

  for (k = 0; k < sim->n; k++)
    {
      Neuron *nr = &sim->neurons[k];
      double amp;

      if (nr->net_mv <= 0)
        continue;
      amp = nr->net_mv * (0.5 + 0.5 * gsl_rng_uniform (sim->burst_rng));
      nr->na += amp * sim->n_norm;
      nr->nb += amp * sim->n_norm;
    }
  sim->next_net_burst = t + MAX (1, (gint64) round (gsl_ran_exponential (
                          sim->burst_rng, 1.0 / sim->params->network_burst_hz)
                          * sim->fs));
}

static void
sim_init (Sim                *sim,
          const ImpSimParams *params)
{
  g_autoptr(gsl_rng) net_rng = new_stream (params->seed, 0);
  guint i;

  memset (sim, 0, sizeof *sim);
  sim->params = params;
  sim->n = params->n_neurons;
  sim->n_all = params->n_neurons + params->n_hidden;
  sim->fs = params->sample_rate_hz;
  sim->n_samples = (gint64) llround (params->duration_s * sim->fs);
  sim->spike_rng = new_stream (params->seed, 1);
  sim->noise_rng = new_stream (params->seed, 2);
  sim->burst_rng = new_stream (params->seed, 3);
  sim->neurons = g_new0 (Neuron, sim->n_all);
  sim->synapses = g_array_new (FALSE, FALSE, sizeof (Synapse));
  sim->crosstalk = g_array_new (FALSE, FALSE, sizeof (Crosstalk));
  sim->shared = g_array_new (FALSE, FALSE, sizeof (guint));
  sim->values = g_new (double, (gsize) BLOCK_SAMPLES * sim->n);
  kernel_factors (AHP_RISE_MS, AHP_DECAY_MS, sim->fs,
                  &sim->h_da, &sim->h_db, &sim->h_norm);
  /* before the network: distal synapses are scaled by the kernels */
  kernel_factors (E_RISE_MS, E_DECAY_MS, sim->fs,
                  &sim->e_da, &sim->e_db, &sim->e_norm);
  kernel_factors (I_RISE_MS, I_DECAY_MS, sim->fs,
                  &sim->i_da, &sim->i_db, &sim->i_norm);
  kernel_factors (DISTAL_RISE_MS, DISTAL_DECAY_MS, sim->fs,
                  &sim->d_da, &sim->d_db, &sim->d_norm);
  kernel_factors (NET_RISE_MS, NET_DECAY_MS, sim->fs,
                  &sim->n_da, &sim->n_db, &sim->n_norm);

  build_network (sim, net_rng);
  if (sim->crosstalk->len > 0)
    sim->clean = g_new0 (float, (gsize) BLOCK_SAMPLES * sim->n);
  build_ap_table (sim);

  /* Causality: within a substep no spike can reach another neuron, since
   * every delay is at least DELAY_MIN_MS. */
  sim->substep = (guint) MAX (1.0, floor (DELAY_MIN_MS * sim->fs / 1000.0));
  sim->refractory = ms_to_samples (REFRACTORY_MS, sim->fs);
  sim->ring_len = sim->ap_peak + ms_to_samples (DELAY_MAX_MS, sim->fs)
                  + 2 * sim->substep + 2;
  sim->ring_e = g_new0 (float, (gsize) sim->n_all * sim->ring_len);
  sim->ring_i = g_new0 (float, (gsize) sim->n_all * sim->ring_len);
  if (params->distal_frac > 0)
    sim->ring_d = g_new0 (float, (gsize) sim->n_all * sim->ring_len);

  sim->next_net_burst = G_MAXINT64;
  if (params->network_burst_hz > 0)
    sim->next_net_burst = (gint64) round (gsl_ran_exponential (
                            sim->burst_rng, 1.0 / params->network_burst_hz)
                            * sim->fs);
  sim->drift_a = exp (-(double) sim->substep / (sim->fs * DRIFT_TAU_S));
  sim->drift_b = params->drift_mv * sqrt (1 - sim->drift_a * sim->drift_a);

  for (i = 0; i < sim->n_all; i++)
    {
      Neuron *nr = &sim->neurons[i];

      nr->next_spont = (gint64) round (draw_isi_samples (sim, nr));
      nr->ap_onset = G_MININT64 / 2;
      nr->ahp_at = -1;
      nr->refractory_until = 0;
      if (i < sim->n)
        nr->drift = gsl_ran_gaussian (sim->noise_rng, params->drift_mv);
      nr->na = nr->nb = 0;
    }
}

static void
sim_clear (Sim *sim)
{
  g_clear_pointer (&sim->spike_rng, gsl_rng_free);
  g_clear_pointer (&sim->noise_rng, gsl_rng_free);
  g_clear_pointer (&sim->burst_rng, gsl_rng_free);
  g_clear_pointer (&sim->crosstalk, g_array_unref);
  g_clear_pointer (&sim->shared, g_array_unref);
  g_clear_pointer (&sim->values, g_free);
  g_clear_pointer (&sim->clean, g_free);
  g_clear_pointer (&sim->neurons, g_free);
  g_clear_pointer (&sim->synapses, g_array_unref);
  g_clear_pointer (&sim->ring_e, g_free);
  g_clear_pointer (&sim->ring_i, g_free);
  g_clear_pointer (&sim->ring_d, g_free);
  g_clear_pointer (&sim->ap_table, g_free);
}

static char *
channel_label (guint index,
               guint side)
{
  return g_strdup_printf ("R%uC%u", index / side + 1, index % side + 1);
}

static void
set_metadata (ImpNativeWriter    *writer,
              const ImpSimParams *p,
              const Sim          *sim)
{
  g_autoptr(GString) scales = g_string_new (NULL);
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  guint i;

#define SET_DOUBLE(key, value) \
  imp_native_writer_set_attribute (writer, key, \
                                   g_ascii_dtostr (buf, sizeof buf, value))

  imp_native_writer_set_attribute (writer, "generator",
                                   "Imprint " PACKAGE_VERSION " simulator");
  g_snprintf (buf, sizeof buf, "%" G_GUINT64_FORMAT, p->seed);
  imp_native_writer_set_attribute (writer, "seed", buf);
  g_snprintf (buf, sizeof buf, "%u", p->n_neurons);
  imp_native_writer_set_attribute (writer, "n_neurons", buf);
  SET_DOUBLE ("duration_s", p->duration_s);
  SET_DOUBLE ("connection_prob", p->connection_prob);
  SET_DOUBLE ("connection_prob_used", sim->connection_prob);
  SET_DOUBLE ("max_mean_inputs", p->max_mean_inputs);
  SET_DOUBLE ("inhibitory_frac", p->inhibitory_frac);
  SET_DOUBLE ("no_access_frac", p->no_access_frac);
  SET_DOUBLE ("rate_hz", p->rate_hz);
  SET_DOUBLE ("noise_mv", p->noise_mv);
  SET_DOUBLE ("quantal_mv", p->quantal_mv);
  SET_DOUBLE ("burst_prob", p->burst_prob);
  SET_DOUBLE ("drift_mv", p->drift_mv);
  SET_DOUBLE ("weak_decades", p->weak_decades);
  SET_DOUBLE ("noise_mv_max", p->noise_mv_max);
  SET_DOUBLE ("scale_drift", p->scale_drift);
  SET_DOUBLE ("network_burst_hz", p->network_burst_hz);
  SET_DOUBLE ("network_burst_mv", p->network_burst_mv);
  SET_DOUBLE ("network_burst_frac", p->network_burst_frac);
  g_snprintf (buf, sizeof buf, "%u", p->n_hidden);
  imp_native_writer_set_attribute (writer, "n_hidden", buf);
  SET_DOUBLE ("hidden_mv", p->hidden_mv);
  SET_DOUBLE ("crosstalk", p->crosstalk);
  imp_native_writer_set_attribute (writer, "vary_ahp",
                                   p->vary_ahp ? "true" : "false");
  imp_native_writer_set_attribute (writer, "synaptic_drive",
                                   p->synaptic_drive ? "true" : "false");
  g_snprintf (buf, sizeof buf, "%u", sim->synapses->len);
  imp_native_writer_set_attribute (writer, "n_synapses", buf);

  /* The electrode voltage is Ve = scale × Vm; gains undo it so readers
   * see Vm. The scales are kept for reference. */
  for (i = 0; i < sim->n; i++)
    {
      if (i > 0)
        g_string_append_c (scales, ',');
      g_string_append_printf (scales, "%.4f",
                              VE_STEP_MV / sim->neurons[i].gain);
    }
  imp_native_writer_set_attribute (writer, "ve_scale", scales->str);

#undef SET_DOUBLE
}

/* Neuron i sits at column i mod side, row i div side. */
static void
describe_channels (ImpNativeWriter *writer,
                   const Sim       *sim,
                   guint            side)
{
  double pitch = sim->params->electrode_pitch_um;
  guint i;

  for (i = 0; i < sim->n; i++)
    {
      g_autofree char *label = channel_label (i, side);

      imp_native_writer_set_channel (writer, i, label, "mV",
                                     sim->neurons[i].gain, 0.0,
                                     (i % side) * pitch, (i / side) * pitch,
                                     sim->neurons[i].access
                                     ? IMP_ACCESS_INTRACELLULAR
                                     : IMP_ACCESS_EXTRACELLULAR);
    }
}

/* SD of neuron @k's membrane potential as recorded, without its APs. */
static double
membrane_sd (const Sim *sim,
             guint      k)
{
  const Neuron *nr = &sim->neurons[k];
  double n = (double) MAX (sim->n_samples, 1);
  double mean = nr->sub_sum / n;

  return sqrt (MAX (nr->sub_sum2 / n - mean * mean, 0.0));
}

static void
add_trap (GArray      *map,
          GHashTable  *listed,
          const Sim   *sim,
          guint        pre,
          guint        post,
          ImpMapKind   kind,
          guint        side)
{
  ImpMapEntry e = { 0 };
  guint64 key = ((guint64) pre << 32) | post;

  if (pre == post || has_synapse (sim, pre, post)
      || g_hash_table_contains (listed, &key))
    return;
  g_hash_table_add (listed, g_memdup2 (&key, sizeof key));
  e.pre = pre;
  e.post = post;
  e.pre_label = channel_label (pre, side);
  e.post_label = channel_label (post, side);
  e.sign = 'E';
  e.p_value = 1.0;
  e.n_pre_aps = sim->neurons[pre].n_aps;
  e.snr = NAN;
  e.kind = kind;
  g_array_append_val (map, e);
}

/* Pairs that are not connected but related: crosstalk first, then shared
 * hidden input, then taking part in network bursts together. */
static void
add_traps (GArray    *map,
           const Sim *sim,
           guint      side)
{
  g_autoptr(GHashTable) listed = g_hash_table_new_full (g_int64_hash,
                                                        g_int64_equal,
                                                        g_free, NULL);
  guint i, j;

  for (i = 0; i < sim->crosstalk->len; i++)
    {
      const Crosstalk *x = &g_array_index (sim->crosstalk, Crosstalk, i);

      add_trap (map, listed, sim, x->a, x->b, IMP_MAP_TRAP_CROSSTALK, side);
      add_trap (map, listed, sim, x->b, x->a, IMP_MAP_TRAP_CROSSTALK, side);
    }
  for (i = 0; i + 1 < sim->shared->len; i += 2)
    {
      guint a = g_array_index (sim->shared, guint, i);
      guint b = g_array_index (sim->shared, guint, i + 1);

      add_trap (map, listed, sim, a, b, IMP_MAP_TRAP_SHARED_INPUT, side);
      add_trap (map, listed, sim, b, a, IMP_MAP_TRAP_SHARED_INPUT, side);
    }
  for (i = 0; i < sim->n; i++)
    for (j = 0; j < sim->n; j++)
      if (sim->neurons[i].net_mv > 0 && sim->neurons[j].net_mv > 0
          && sim->neurons[i].access && sim->neurons[j].access)
        add_trap (map, listed, sim, i, j, IMP_MAP_TRAP_COMODULATION, side);
}

static gboolean
write_truth (const Sim   *sim,
             const char  *path,
             guint        side,
             GError     **error)
{
  g_autoptr(GArray) map = imp_map_new ();
  guint i, s;

  for (i = 0; i < sim->n; i++)
    {
      const Neuron *pre = &sim->neurons[i];

      if (!pre->access)
        continue;
      for (s = pre->syn_first; s < pre->syn_first + pre->n_syn; s++)
        {
          const Synapse *syn = &g_array_index (sim->synapses, Synapse, s);
          ImpMapEntry e = { 0 };
          double mean, sd;

          if (!sim->neurons[syn->post].access)
            continue;
          mean = syn->n_sites * syn->p_release * syn->quantum_mv;
          e.pre = i;
          e.post = syn->post;
          e.pre_label = channel_label (i, side);
          e.post_label = channel_label (syn->post, side);
          e.sign = pre->inhibitory ? 'I' : 'E';
          e.amplitude_mv = pre->inhibitory ? -mean : mean;
          e.latency_ms = syn->delay * 1000.0 / sim->fs;
          e.p_value = 0.0;
          e.n_pre_aps = pre->n_aps;
          e.quantal_mv = syn->quantum_mv;
          e.quantal_n = syn->n_sites;
          e.release_p = syn->p_release;
          sd = membrane_sd (sim, syn->post);
          e.snr = sd > 0 ? mean * sqrt (pre->n_aps) / sd : INFINITY;
          e.kind = IMP_MAP_CONNECTION;
          g_array_append_val (map, e);
        }
    }
  add_traps (map, sim, side);

  return imp_map_write_truth_csv (map, path, error);
}

/* The standard normal draws of the noise stream, in the order the
 * simulation uses them: per substep, per neuron, one for the drift and
 * one per sample. They are drawn ahead on a thread of their own; scaled
 * by the SD where used, they are exactly what drawing with that SD gives
 * (GSL's ziggurat draws x and returns ±SD × x). The samples, once
 * converted, are written on another thread while the next block is
 * simulated. */
typedef struct
{
  Sim       *sim;
  GMutex     lock;
  GCond      cond;
  gboolean   stop;
  /* noise */
  double    *noise[NOISE_SEGMENTS];
  guint      produced;   /* segments drawn */
  guint      consumed;   /* segments used up */
  /* writing */
  ImpNativeWriter *writer;
  gint16    *counts[2];
  gint64     pending;    /* samples in counts[to_write % 2], or 0 */
  guint      to_write;
  gboolean   write_failed;
  GError    *error;
} Pipeline;

/* Substeps of the segment starting at substep @t0 of the block
 * [block_start, block_end). */
static gint64
segment_end (const Sim *sim,
             gint64     t0,
             gint64     block_end)
{
  return MIN (t0 + (gint64) NOISE_SEGMENT * sim->substep, block_end);
}

static gpointer
noise_main (gpointer data)
{
  Pipeline *pl = data;
  Sim *sim = pl->sim;
  gint64 block_start;

  for (block_start = 0; block_start < sim->n_samples;
       block_start += BLOCK_SAMPLES)
    {
      gint64 block_end = MIN (block_start + BLOCK_SAMPLES, sim->n_samples);
      gint64 t0 = block_start;

      while (t0 < block_end)
        {
          gint64 end = segment_end (sim, t0, block_end);
          double *out;
          guint k;

          g_mutex_lock (&pl->lock);
          while (!pl->stop && pl->produced - pl->consumed >= NOISE_SEGMENTS)
            g_cond_wait (&pl->cond, &pl->lock);
          if (pl->stop)
            {
              g_mutex_unlock (&pl->lock);
              return NULL;
            }
          out = pl->noise[pl->produced % NOISE_SEGMENTS];
          g_mutex_unlock (&pl->lock);

          for (; t0 < end; t0 += sim->substep)
            {
              gint64 len = MIN (t0 + sim->substep, block_end) - t0;

              for (k = 0; k < sim->n; k++)
                for (gint64 i = 0; i <= len; i++)
                  *out++ = gsl_ran_gaussian_ziggurat (sim->noise_rng, 1.0);
            }

          g_mutex_lock (&pl->lock);
          pl->produced++;
          g_cond_broadcast (&pl->cond);
          g_mutex_unlock (&pl->lock);
        }
    }
  return NULL;
}

/* The next segment's draws, once they are there. */
static const double *
take_noise (Pipeline *pl)
{
  const double *noise;

  g_mutex_lock (&pl->lock);
  while (pl->produced == pl->consumed)
    g_cond_wait (&pl->cond, &pl->lock);
  noise = pl->noise[pl->consumed % NOISE_SEGMENTS];
  g_mutex_unlock (&pl->lock);
  return noise;
}

static void
give_back_noise (Pipeline *pl)
{
  g_mutex_lock (&pl->lock);
  pl->consumed++;
  g_cond_broadcast (&pl->cond);
  g_mutex_unlock (&pl->lock);
}

static gpointer
writer_main (gpointer data)
{
  Pipeline *pl = data;

  g_mutex_lock (&pl->lock);
  for (;;)
    {
      gint64 n;
      GError *error = NULL;
      gboolean ok;

      while (!pl->stop && pl->pending == 0)
        g_cond_wait (&pl->cond, &pl->lock);
      if (pl->pending == 0)
        break;
      n = pl->pending;
      g_mutex_unlock (&pl->lock);
      ok = imp_native_writer_append (pl->writer,
                                     pl->counts[pl->to_write % 2], n,
                                     &error);
      g_mutex_lock (&pl->lock);
      if (!ok)
        {
          pl->write_failed = TRUE;
          if (pl->error == NULL)
            pl->error = error;
          else
            g_error_free (error);
        }
      pl->pending = 0;
      pl->to_write++;
      g_cond_broadcast (&pl->cond);
    }
  g_mutex_unlock (&pl->lock);
  return NULL;
}

/* Hands counts[which] to the writer once it has written the block before;
 * FALSE (with @error) when an earlier write failed. */
static gboolean
hand_to_writer (Pipeline  *pl,
                gint64     n_samples,
                GError   **error)
{
  gboolean ok;

  g_mutex_lock (&pl->lock);
  while (pl->pending != 0)
    g_cond_wait (&pl->cond, &pl->lock);
  ok = !pl->write_failed;
  if (ok)
    {
      pl->pending = n_samples;
      g_cond_broadcast (&pl->cond);
    }
  else if (pl->error != NULL)
    g_propagate_error (error, g_steal_pointer (&pl->error));
  g_mutex_unlock (&pl->lock);
  return ok;
}

/* Waits for the writer to write what it has. */
static gboolean
drain_writer (Pipeline  *pl,
              GError   **error)
{
  return hand_to_writer (pl, 0, error);
}

static gboolean
check_params (const ImpSimParams  *p,
              GError             **error)
{
  const char *problem = NULL;

  if (p->n_neurons == 0)
    problem = "at least one neuron is needed";
  else if (!(p->duration_s > 0) || !isfinite (p->duration_s))
    problem = "the duration must be positive";
  else if (!(p->sample_rate_hz >= 1000) || p->sample_rate_hz > 1e6)
    problem = "the sampling rate must be between 1 kHz and 1 MHz";
  else if (p->duration_s * p->sample_rate_hz > (double) G_MAXINT32 * 64)
    problem = "the recording would be too long";
  else if (!(p->connection_prob >= 0 && p->connection_prob <= 1)
           || !(p->inhibitory_frac >= 0 && p->inhibitory_frac <= 1)
           || !(p->no_access_frac >= 0 && p->no_access_frac <= 1)
           || !(p->burst_prob >= 0 && p->burst_prob <= 1))
    problem = "probabilities and fractions must lie between 0 and 1";
  else if (!(p->network_burst_frac >= 0 && p->network_burst_frac <= 1)
           || !(p->crosstalk >= 0 && p->crosstalk <= 0.5)
           || !(p->scale_drift >= 0 && p->scale_drift < 1))
    problem = "the network burst fraction must lie between 0 and 1, the "
              "crosstalk between 0 and 0.5 and the coupling drift between 0 "
              "and 1";
  else if (!(p->weak_decades >= 0 && p->weak_decades <= 6)
           || !(p->noise_mv_max >= 0) || !isfinite (p->noise_mv_max)
           || !(p->network_burst_hz >= 0 && p->network_burst_hz <= 100)
           || !(p->network_burst_mv >= 0 && p->network_burst_mv <= 100)
           || !(p->hidden_mv >= 0 && p->hidden_mv <= 100)
           || p->n_hidden > 100000)
    problem = "weak decades must lie between 0 and 6, network bursts "
              "between 0 and 100 Hz, burst and hidden PSP sizes between 0 "
              "and 100 mV, noise maxima be finite and hidden neurons at most "
              "100000";
  else if (!(p->rate_hz >= 0) || !(p->noise_mv >= 0) || !(p->drift_mv >= 0)
           || !(p->quantal_mv >= 0) || !(p->electrode_pitch_um > 0)
           || !(p->max_mean_inputs >= 0))
    problem = "rates, noise, drift, quantal size and pitch must not be "
              "negative";
  /* Infinities would never end the spike trains or fill the samples. */
  else if (!isfinite (p->rate_hz) || !isfinite (p->noise_mv)
           || !isfinite (p->drift_mv) || !isfinite (p->quantal_mv)
           || !isfinite (p->electrode_pitch_um)
           || !isfinite (p->max_mean_inputs))
    problem = "rates, noise, drift, quantal size and pitch must be finite";

  if (problem != NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "Cannot simulate: %s", problem);
      return FALSE;
    }
  return TRUE;
}

/**
 * imp_simulate:
 * @params: the network and recording
 * @output: the native recording to write
 * @truth_csv: (nullable): where to write the true connections
 * @progress: (nullable) (scope call): called after each block
 * @user_data: for @progress
 * @cancellable: (nullable): checked after each block
 * @error: return location for a #GError
 *
 * Simulates a culture of @params->n_neurons neurons, one per electrode on
 * a square grid, and writes what the array records (docs/simulator.md).
 * The same parameters and seed give the same files. The truth file lists
 * the synapses between neurons whose electrodes have access; synapses
 * from or onto a neuron without access shape the activity but cannot be
 * seen in the recording.
 *
 * Returns: %TRUE on success; on failure or cancellation
 *   (%G_IO_ERROR_CANCELLED) no recording is left at @output
 */
gboolean
imp_simulate (const ImpSimParams  *params,
              const char          *output,
              const char          *truth_csv,
              ImpProgressFunc      progress,
              gpointer             user_data,
              GCancellable        *cancellable,
              GError             **error)
{
  g_autoptr(ImpNativeWriter) writer = NULL;
  Pipeline pl = { 0 };
  GThread *noise_thread, *writer_thread;
  Sim sim;
  guint side, i, n_blocks = 0;
  gint64 block_start;
  gboolean simulated = FALSE;
  gboolean ok = FALSE;

  g_return_val_if_fail (params != NULL, FALSE);
  g_return_val_if_fail (output != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!check_params (params, error))
    return FALSE;

  writer = imp_native_writer_new (output, params->n_neurons,
                                  params->sample_rate_hz, error);
  if (writer == NULL)
    return FALSE;

  sim_init (&sim, params);
  side = (guint) ceil (sqrt ((double) sim.n));
  describe_channels (writer, &sim, side);
  set_metadata (writer, params, &sim);
  g_debug ("Simulating %u neurons, %u synapses, %" G_GINT64_FORMAT
           " samples", sim.n, sim.synapses->len, sim.n_samples);

  pl.sim = &sim;
  pl.writer = writer;
  g_mutex_init (&pl.lock);
  g_cond_init (&pl.cond);
  for (i = 0; i < NOISE_SEGMENTS; i++)
    pl.noise[i] = g_new (double, (gsize) NOISE_SEGMENT * sim.n
                                 * (sim.substep + 1));
  pl.counts[0] = g_new (gint16, (gsize) BLOCK_SAMPLES * sim.n);
  pl.counts[1] = g_new (gint16, (gsize) BLOCK_SAMPLES * sim.n);
  noise_thread = g_thread_new ("imp-sim-noise", noise_main, &pl);
  writer_thread = g_thread_new ("imp-sim-writer", writer_main, &pl);

  for (block_start = 0; block_start < sim.n_samples;
       block_start += BLOCK_SAMPLES)
    {
      gint64 block_end = MIN (block_start + BLOCK_SAMPLES, sim.n_samples);
      gint64 t0;

      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        goto stop;

      for (t0 = block_start; t0 < block_end;)
        {
          gint64 end = segment_end (&sim, t0, block_end);
          const double *noise = take_noise (&pl);

          for (; t0 < end; t0 += sim.substep)
            {
              gint64 t1 = MIN (t0 + sim.substep, block_end);

              if (t0 >= sim.next_net_burst)
                network_burst (&sim, t0);
              for (i = 0; i < sim.n_all; i++)
                step_neuron (&sim, i, t0, t1, block_start, &noise);
            }
          give_back_noise (&pl);
        }
      record_block (&sim, block_start, block_end, pl.counts[n_blocks % 2]);

      if (!hand_to_writer (&pl, block_end - block_start, error))
        goto stop;
      n_blocks++;
      if (progress != NULL)
        progress ((double) block_end / sim.n_samples, "Simulating",
                  user_data);
    }
  simulated = drain_writer (&pl, error);

stop:
  g_mutex_lock (&pl.lock);
  pl.stop = TRUE;
  g_cond_broadcast (&pl.cond);
  g_mutex_unlock (&pl.lock);
  g_thread_join (noise_thread);
  g_thread_join (writer_thread);
  for (i = 0; i < NOISE_SEGMENTS; i++)
    g_free (pl.noise[i]);
  g_free (pl.counts[0]);
  g_free (pl.counts[1]);
  g_clear_error (&pl.error);
  g_mutex_clear (&pl.lock);
  g_cond_clear (&pl.cond);
  if (!simulated)
    goto out;

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    goto out;
  if (!imp_native_writer_close (writer, error))
    goto out;
  if (truth_csv != NULL && !write_truth (&sim, truth_csv, side, error))
    {
      g_unlink (output);
      goto out;
    }

  if (progress != NULL)
    progress (1.0, "Simulating", user_data);
  ok = TRUE;

out:
  sim_clear (&sim);
  return ok;
}
