/* imp-activity.c
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <math.h>
#include <string.h>

#include "imp-activity.h"
#include "imp-detect.h"
#include "imp-map.h"
#include "imp-output.h"

/* Channels read at once: one column of the native format's chunks. */
#define CHANNEL_BLOCK 64
/* Longest read per channel, so that a read stays short (the recording's
 * lock is shared with the views and the analysis) and its buffer small. */
#define MAX_READ      65536

typedef struct
{
  double shift;     /* the first usable sample, against cancellation */
  double sum;
  double sum2;
  float  min;
  float  max;
  gint64 n;
} Accumulator;

static void
accumulate (Accumulator *acc,
            const float *x,
            gint64       n)
{
  for (gint64 i = 0; i < n; i++)
    {
      double d;

      if (!imp_detect_usable (x[i]))
        continue;
      if (acc->n == 0)
        {
          acc->shift = x[i];
          acc->min = acc->max = x[i];
        }
      d = x[i] - acc->shift;
      acc->sum += d;
      acc->sum2 += d * d;
      acc->min = MIN (acc->min, x[i]);
      acc->max = MAX (acc->max, x[i]);
      acc->n++;
    }
}

/* The segments measured: the whole window in reads of up to MAX_READ, or
 * blocks spread evenly over it. Pairs of (first sample, length). */
static GArray *
plan_segments (gint64 first,
               gint64 n,
               gint64 budget)
{
  GArray *segments = g_array_new (FALSE, FALSE, 2 * sizeof (gint64));

  if (n <= budget)
    {
      for (gint64 s = 0; s < n; s += MAX_READ)
        {
          gint64 seg[2] = { first + s, MIN (MAX_READ, n - s) };

          g_array_append_val (segments, seg);
        }
    }
  else
    {
      gint64 n_blocks = MAX (1, budget / IMP_ACTIVITY_BLOCK);
      gint64 length = MIN (IMP_ACTIVITY_BLOCK, n);

      for (gint64 k = 0; k < n_blocks; k++)
        {
          gint64 seg[2];

          seg[0] = first + (n_blocks > 1
                            ? (gint64) ((double) k * (n - length) /
                                        (n_blocks - 1))
                            : (n - length) / 2);
          seg[1] = length;
          g_array_append_val (segments, seg);
        }
    }

  return segments;
}

/**
 * imp_activity_measure:
 * @recording: a recording
 * @first_sample: where the window starts
 * @n_samples: its length, at least 1
 * @max_per_channel: the most samples per channel to read, at least
 *   IMP_ACTIVITY_BLOCK
 * @cancellable: (nullable): checked between reads
 * @error: return location for a #GError
 *
 * Measures every channel's peak-to-peak range and RMS about the mean over
 * a window, leaving out samples that are gaps (not finite, or absurdly
 * large). Safe to call from a worker thread.
 *
 * Returns: (transfer full) (nullable): the measures, or %NULL with @error
 *   set (a read failed, the window is outside the recording, or
 *   cancelled)
 */
ImpActivity *
imp_activity_measure (ImpRecording  *recording,
                      gint64         first_sample,
                      gint64         n_samples,
                      gint64         max_per_channel,
                      GCancellable  *cancellable,
                      GError       **error)
{
  g_autoptr(ImpActivity) activity = NULL;
  g_autoptr(GArray) segments = NULL;
  g_autofree Accumulator *acc = NULL;
  g_autofree float *buffer = NULL;
  guint n_channels;
  gint64 longest = 0;

  g_return_val_if_fail (recording != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  n_channels = imp_recording_get_n_channels (recording);
  if (first_sample < 0 || n_samples < 1 ||
      first_sample > imp_recording_get_n_samples (recording) - n_samples)
    {
      g_set_error (error, IMP_RECORDING_ERROR, IMP_RECORDING_ERROR_RANGE,
                   "Samples %" G_GINT64_FORMAT " to %" G_GINT64_FORMAT
                   " are outside the recording",
                   first_sample, first_sample + n_samples);
      return NULL;
    }

  activity = g_new0 (ImpActivity, 1);
  activity->n_channels = n_channels;
  activity->first_sample = first_sample;
  activity->n_samples = n_samples;
  activity->peak_to_peak = g_new (float, MAX (n_channels, 1));
  activity->rms = g_new (float, MAX (n_channels, 1));

  segments = plan_segments (first_sample, n_samples,
                            MAX (max_per_channel, IMP_ACTIVITY_BLOCK));
  for (guint k = 0; k < segments->len; k++)
    {
      gint64 *seg = &g_array_index (segments, gint64, 2 * k);

      activity->n_measured += seg[1];
      longest = MAX (longest, seg[1]);
    }

  acc = g_new0 (Accumulator, CHANNEL_BLOCK);
  buffer = g_new (float, (gsize) CHANNEL_BLOCK * longest);

  for (guint c0 = 0; c0 < n_channels; c0 += CHANNEL_BLOCK)
    {
      guint nc = MIN (CHANNEL_BLOCK, n_channels - c0);

      memset (acc, 0, CHANNEL_BLOCK * sizeof (Accumulator));
      for (guint k = 0; k < segments->len; k++)
        {
          gint64 *seg = &g_array_index (segments, gint64, 2 * k);

          if (g_cancellable_set_error_if_cancelled (cancellable, error))
            return NULL;
          if (!imp_recording_read (recording, c0, nc, seg[0], seg[1],
                                   buffer, error))
            return NULL;
          for (guint c = 0; c < nc; c++)
            accumulate (&acc[c], buffer + (gsize) c * seg[1], seg[1]);
        }

      for (guint c = 0; c < nc; c++)
        {
          const Accumulator *a = &acc[c];
          double mean, var;

          if (a->n == 0)
            {
              activity->peak_to_peak[c0 + c] = NAN;
              activity->rms[c0 + c] = NAN;
              continue;
            }
          mean = a->sum / a->n;
          var = MAX (0.0, a->sum2 / a->n - mean * mean);
          activity->peak_to_peak[c0 + c] = a->max - a->min;
          activity->rms[c0 + c] = (float) sqrt (var);
        }
    }

  return g_steal_pointer (&activity);
}

/**
 * imp_activity_free:
 * @self: (nullable): measures to free
 */
void
imp_activity_free (ImpActivity *self)
{
  if (self == NULL)
    return;

  g_free (self->peak_to_peak);
  g_free (self->rms);
  g_free (self);
}

static void
append_number (GString *out,
               double   value)
{
  g_string_append_c (out, ',');
  if (isfinite (value))
    imp_output_append_double (out, value);
}

/**
 * imp_activity_write_csv:
 * @self: measures of @recording
 * @recording: the recording measured
 * @path: the file to write
 * @error: return location for a #GError
 *
 * Writes one row per channel with the columns
 * index,label,x_um,y_um,unit,peak_to_peak,rms; a position or a measure
 * that is not known is left empty.
 *
 * Returns: %TRUE on success
 */
gboolean
imp_activity_write_csv (ImpActivity   *self,
                        ImpRecording  *recording,
                        const char    *path,
                        GError       **error)
{
  g_autoptr(GString) out = g_string_new ("index,label,x_um,y_um,unit,"
                                         "peak_to_peak,rms\n");

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (recording != NULL, FALSE);
  g_return_val_if_fail (self->n_channels ==
                        imp_recording_get_n_channels (recording), FALSE);

  for (guint c = 0; c < self->n_channels; c++)
    {
      const ImpChannel *info = imp_recording_get_channel (recording, c);

      g_string_append_printf (out, "%u,", c);
      imp_map_append_csv_field (out, info->label);
      append_number (out, info->has_position ? info->x_um : NAN);
      append_number (out, info->has_position ? info->y_um : NAN);
      g_string_append_c (out, ',');
      imp_map_append_csv_field (out, info->unit);
      append_number (out, self->peak_to_peak[c]);
      append_number (out, self->rms[c]);
      g_string_append_c (out, '\n');
    }

  return imp_output_write_file (path, out->str, out->len, error);
}

/**
 * imp_activity_evoked:
 * @result: an analysis result
 * @recording: (nullable): its recording, for the sweeps
 * @candidate: one of @result's candidates
 *
 * The PSPs that the candidate's presynaptic APs evoked, as the analysis
 * counts them: every postsynaptic PSP of the candidate's sign whose onset
 * follows a presynaptic AP by latency_min_ms to latency_max_ms (rounded
 * inwards to whole samples), in the same sweep.
 *
 * Returns: (transfer full) (element-type ImpEvoked): the pairs, sorted by
 *   AP and then PSP
 */
GArray *
imp_activity_evoked (ImpAnalysisResult  *result,
                     ImpRecording       *recording,
                     const ImpCandidate *candidate)
{
  GArray *evoked = g_array_new (FALSE, FALSE, sizeof (ImpEvoked));
  const ImpAnalysisParams *p;
  GArray *aps, *psps;
  gint64 lo, hi;
  guint j = 0;

  g_return_val_if_fail (result != NULL, evoked);
  g_return_val_if_fail (candidate != NULL, evoked);

  if (result->aps == NULL || result->psps == NULL ||
      candidate->pre >= result->n_channels ||
      candidate->post >= result->n_channels)
    return evoked;

  p = &result->params;
  lo = (gint64) ceil (p->latency_min_ms * result->sample_rate / 1000.0);
  hi = (gint64) floor (p->latency_max_ms * result->sample_rate / 1000.0);
  aps = result->aps[candidate->pre];
  psps = result->psps[candidate->post];

  for (guint i = 0; i < aps->len; i++)
    {
      gint64 t = g_array_index (aps, ImpEvent, i).sample;
      guint sweep = 0;

      if (recording != NULL)
        sweep = imp_recording_sweep_at (recording, t);

      /* The APs are sorted, so the first PSP in reach only moves on. */
      while (j < psps->len && g_array_index (psps, ImpEvent, j).sample <
                              t + lo)
        j++;

      for (guint k = j; k < psps->len; k++)
        {
          const ImpEvent *psp = &g_array_index (psps, ImpEvent, k);
          ImpEvoked e;

          if (psp->sample > t + hi)
            break;
          /* As the analysis sorts them: E above zero, I the rest. */
          if ((candidate->sign == 'I') == (psp->amplitude > 0))
            continue;
          if (recording != NULL &&
              imp_recording_sweep_at (recording, psp->sample) != sweep)
            continue;

          e.ap_sample = t;
          e.psp_sample = psp->sample;
          e.amplitude_mv = psp->amplitude;
          g_array_append_val (evoked, e);
        }
    }

  return evoked;
}
