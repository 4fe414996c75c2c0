/* imp-recording.c
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <errno.h>
#include <math.h>
#include <glib/gstdio.h>

#include "imp-recording-private.h"

G_DEFINE_QUARK (imp-recording-error-quark, imp_recording_error)

static void
channel_clear (gpointer data)
{
  ImpChannel *channel = data;

  g_clear_pointer (&channel->label, g_free);
  g_clear_pointer (&channel->unit, g_free);
}

ImpRecording *
_imp_recording_new (const char                *path,
                    const ImpRecordingBackend *backend,
                    gpointer                   backend_data)
{
  ImpRecording *self;

  g_assert (path != NULL);
  g_assert (backend != NULL);

  self = g_new0 (ImpRecording, 1);
  g_atomic_ref_count_init (&self->ref_count);
  g_mutex_init (&self->lock);
  self->path = g_strdup (path);
  self->backend = backend;
  self->backend_data = backend_data;
  self->channels = g_array_new (FALSE, TRUE, sizeof (ImpChannel));
  g_array_set_clear_func (self->channels, channel_clear);
  self->sweeps = g_array_new (FALSE, TRUE, sizeof (ImpSweep));
  self->attributes = g_hash_table_new_full (g_str_hash, g_str_equal,
                                            g_free, g_free);

  return self;
}

void
_imp_recording_add_channel (ImpRecording *self,
                            const char   *label,
                            const char   *unit,
                            double        gain,
                            double        offset)
{
  ImpChannel channel = { 0 };
  const char *canonical = NULL;
  double factor;

  g_assert (self != NULL);

  factor = _imp_unit_normalise (unit, &canonical);
  if (label != NULL && *label != '\0')
    channel.label = g_strdup (label);
  else
    channel.label = g_strdup_printf ("ch%u", self->channels->len);
  channel.unit = g_strdup (canonical != NULL ? canonical : "");
  channel.gain = gain * factor;
  channel.offset = offset * factor;
  channel.has_position = FALSE;
  channel.x_um = NAN;
  channel.y_um = NAN;
  channel.access = IMP_ACCESS_UNKNOWN;
  g_array_append_val (self->channels, channel);
}

void
_imp_recording_set_position (ImpRecording *self,
                             guint         index,
                             double        x_um,
                             double        y_um)
{
  ImpChannel *channel;

  g_assert (self != NULL);
  g_assert (index < self->channels->len);

  channel = &g_array_index (self->channels, ImpChannel, index);
  channel->has_position = isfinite (x_um) && isfinite (y_um);
  channel->x_um = channel->has_position ? x_um : NAN;
  channel->y_um = channel->has_position ? y_um : NAN;
}

void
_imp_recording_set_access (ImpRecording *self,
                           guint         index,
                           ImpAccess     access)
{
  g_assert (self != NULL);
  g_assert (index < self->channels->len);

  g_array_index (self->channels, ImpChannel, index).access = access;
}

void
_imp_recording_add_sweep (ImpRecording *self,
                          gint64        n_samples,
                          double        start_s)
{
  ImpSweep sweep;

  g_assert (self != NULL);

  sweep.start_sample = self->n_samples;
  sweep.n_samples = n_samples;
  sweep.start_s = start_s;
  g_array_append_val (self->sweeps, sweep);
  self->n_samples += n_samples;
}

void
_imp_recording_add_warning (ImpRecording *self,
                            const char   *text)
{
  char *joined;

  g_assert (self != NULL);
  g_assert (text != NULL);

  g_debug ("%s: %s", self->path, text);
  if (self->warning == NULL)
    {
      self->warning = g_strdup (text);
      return;
    }
  joined = g_strconcat (self->warning, "\n", text, NULL);
  g_free (self->warning);
  self->warning = joined;
}

void
_imp_recording_set_format (ImpRecording *self,
                           const char   *format)
{
  g_assert (self != NULL);

  g_free (self->format);
  self->format = g_strdup (format);
}

void
_imp_recording_set_attribute (ImpRecording *self,
                              const char   *key,
                              const char   *value)
{
  g_assert (self != NULL);
  g_assert (key != NULL);

  g_hash_table_replace (self->attributes, g_strdup (key),
                        g_strdup (value != NULL ? value : ""));
}

gboolean
_imp_recording_validate (ImpRecording  *self,
                         GError       **error)
{
  gint64 next = 0;

  g_assert (self != NULL);

  if (!isfinite (self->sample_rate) || self->sample_rate <= 0.0)
    {
      g_set_error (error, IMP_RECORDING_ERROR, IMP_RECORDING_ERROR_NO_RATE,
                   "the sampling rate is %g Hz; it must be a positive "
                   "number", self->sample_rate);
      return FALSE;
    }
  if (self->sample_rate > IMP_RECORDING_MAX_RATE_HZ)
    {
      g_set_error (error, IMP_RECORDING_ERROR, IMP_RECORDING_ERROR_NO_RATE,
                   "the sampling rate of %g Hz is absurd (above %g Hz); "
                   "the header is probably corrupt",
                   self->sample_rate, IMP_RECORDING_MAX_RATE_HZ);
      return FALSE;
    }
  if (self->channels->len == 0)
    {
      g_set_error_literal (error, IMP_RECORDING_ERROR,
                           IMP_RECORDING_ERROR_MALFORMED,
                           "the recording has no channels");
      return FALSE;
    }
  if (self->channels->len > IMP_RECORDING_MAX_CHANNELS)
    {
      g_set_error (error, IMP_RECORDING_ERROR, IMP_RECORDING_ERROR_MALFORMED,
                   "the recording claims %u channels (more than %u); "
                   "the header is probably corrupt",
                   self->channels->len, IMP_RECORDING_MAX_CHANNELS);
      return FALSE;
    }
  if (self->n_samples <= 0)
    {
      g_set_error_literal (error, IMP_RECORDING_ERROR,
                           IMP_RECORDING_ERROR_MALFORMED,
                           "the recording holds no samples");
      return FALSE;
    }
  if (self->n_samples > IMP_RECORDING_MAX_SAMPLES)
    {
      g_set_error (error, IMP_RECORDING_ERROR, IMP_RECORDING_ERROR_MALFORMED,
                   "the recording claims %" G_GINT64_FORMAT " samples per "
                   "channel; the header is probably corrupt",
                   self->n_samples);
      return FALSE;
    }

  for (guint i = 0; i < self->channels->len; i++)
    {
      const ImpChannel *ch = &g_array_index (self->channels, ImpChannel, i);

      if (!isfinite (ch->gain) || ch->gain == 0.0)
        {
          g_set_error (error, IMP_RECORDING_ERROR,
                       IMP_RECORDING_ERROR_MALFORMED,
                       "channel %u (“%s”) has a gain of %g; it must be a "
                       "finite, non-zero number", i, ch->label, ch->gain);
          return FALSE;
        }
      if (!isfinite (ch->offset))
        {
          g_set_error (error, IMP_RECORDING_ERROR,
                       IMP_RECORDING_ERROR_MALFORMED,
                       "channel %u (“%s”) has an offset of %g; it must be a "
                       "finite number", i, ch->label, ch->offset);
          return FALSE;
        }
    }

  for (guint i = 0; i < self->sweeps->len; i++)
    {
      const ImpSweep *sw = &g_array_index (self->sweeps, ImpSweep, i);

      if (sw->start_sample != next || sw->n_samples <= 0)
        {
          g_set_error (error, IMP_RECORDING_ERROR,
                       IMP_RECORDING_ERROR_MALFORMED,
                       "sweep %u (samples %" G_GINT64_FORMAT ", length %"
                       G_GINT64_FORMAT ") does not follow the previous "
                       "sweep or is empty",
                       i, sw->start_sample, sw->n_samples);
          return FALSE;
        }
      if (!isfinite (sw->start_s))
        {
          g_set_error (error, IMP_RECORDING_ERROR,
                       IMP_RECORDING_ERROR_MALFORMED,
                       "sweep %u has no valid start time", i);
          return FALSE;
        }
      next += sw->n_samples;
    }
  if (self->sweeps->len > 0 && next != self->n_samples)
    {
      g_set_error (error, IMP_RECORDING_ERROR, IMP_RECORDING_ERROR_MALFORMED,
                   "the sweeps cover %" G_GINT64_FORMAT " samples but the "
                   "recording has %" G_GINT64_FORMAT,
                   next, self->n_samples);
      return FALSE;
    }
  if (self->sweeps->len == 0)
    {
      ImpSweep sweep = { 0, self->n_samples, 0.0 };

      g_array_append_val (self->sweeps, sweep);
    }

  return TRUE;
}

typedef ImpRecording *(*ImpOpenFunc) (const char  *path,
                                      GError     **error);

/**
 * imp_recording_open:
 * @path: a file name in the GLib file name encoding
 * @error: return location for a #GError
 *
 * Opens a recording, trying Imprint's native HDF5 layout, NWB 2 and the
 * formats libbiosig reads, in that order. Only the header is read.
 *
 * Returns: (transfer full) (nullable): the recording, or %NULL with
 *   @error set in the %IMP_RECORDING_ERROR domain
 */
ImpRecording *
imp_recording_open (const char  *path,
                    GError     **error)
{
  static const ImpOpenFunc openers[] = {
    _imp_native_open,
    _imp_nwb_open,
    _imp_biosig_open,
  };
  g_autofree char *display = NULL;
  GStatBuf st;
  FILE *fp;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  display = g_filename_display_name (path);
  if (g_stat (path, &st) != 0)
    {
      int saved = errno;

      g_set_error (error, IMP_RECORDING_ERROR, IMP_RECORDING_ERROR_NOT_FOUND,
                   "Cannot open “%s”: %s", display, g_strerror (saved));
      return NULL;
    }
  if (!S_ISREG (st.st_mode))
    {
      g_set_error (error, IMP_RECORDING_ERROR, IMP_RECORDING_ERROR_NOT_FOUND,
                   "Cannot open “%s”: not a regular file", display);
      return NULL;
    }
  fp = g_fopen (path, "rb");
  if (fp == NULL)
    {
      int saved = errno;

      g_set_error (error, IMP_RECORDING_ERROR, IMP_RECORDING_ERROR_NOT_FOUND,
                   "Cannot open “%s”: %s", display, g_strerror (saved));
      return NULL;
    }
  fclose (fp);
  if (st.st_size == 0)
    {
      g_set_error (error, IMP_RECORDING_ERROR,
                   IMP_RECORDING_ERROR_UNKNOWN_FORMAT,
                   "“%s” is empty", display);
      return NULL;
    }

  for (guint i = 0; i < G_N_ELEMENTS (openers); i++)
    {
      g_autoptr(GError) local_error = NULL;
      g_autoptr(ImpRecording) rec = NULL;

      rec = openers[i] (path, &local_error);
      if (local_error != NULL)
        {
          g_assert (rec == NULL);
          g_propagate_prefixed_error (error, g_steal_pointer (&local_error),
                                      "Cannot open “%s”: ", display);
          return NULL;
        }
      if (rec == NULL)
        continue;
      if (!_imp_recording_validate (rec, &local_error))
        {
          g_propagate_prefixed_error (error, g_steal_pointer (&local_error),
                                      "Cannot open “%s”: ", display);
          return NULL;
        }
      g_debug ("Opened %s as %s: %u channels, %" G_GINT64_FORMAT
               " samples at %g Hz, %u sweeps", path,
               imp_recording_get_format (rec), rec->channels->len,
               rec->n_samples, rec->sample_rate, rec->sweeps->len);
      return g_steal_pointer (&rec);
    }

  g_set_error (error, IMP_RECORDING_ERROR, IMP_RECORDING_ERROR_UNKNOWN_FORMAT,
               "“%s” is not in a recording format Imprint reads "
               "(Imprint HDF5, NWB 2, or a format libbiosig reads such as "
               "ABF, HEKA PatchMaster, CFS, EDF or GDF)", display);
  return NULL;
}

/**
 * imp_recording_ref:
 * @self: a recording
 *
 * Returns: (transfer full): @self with one more reference
 */
ImpRecording *
imp_recording_ref (ImpRecording *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

/**
 * imp_recording_unref:
 * @self: (transfer full): a recording
 *
 * Drops a reference; the last one closes the file.
 */
void
imp_recording_unref (ImpRecording *self)
{
  g_return_if_fail (self != NULL);

  if (!g_atomic_ref_count_dec (&self->ref_count))
    return;

  if (self->backend->close != NULL && self->backend_data != NULL)
    self->backend->close (self->backend_data);
  g_array_unref (self->channels);
  g_array_unref (self->sweeps);
  g_hash_table_unref (self->attributes);
  g_free (self->path);
  g_free (self->warning);
  g_free (self->format);
  g_mutex_clear (&self->lock);
  g_free (self);
}

/**
 * imp_recording_get_path:
 * @self: a recording
 *
 * Returns: the file name the recording was opened from
 */
const char *
imp_recording_get_path (ImpRecording *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->path;
}

/**
 * imp_recording_get_format:
 * @self: a recording
 *
 * Returns: a short human-readable name of the file format
 */
const char *
imp_recording_get_format (ImpRecording *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->format != NULL ? self->format : self->backend->format;
}

/**
 * imp_recording_get_n_channels:
 * @self: a recording
 *
 * Returns: the number of channels, at least 1
 */
guint
imp_recording_get_n_channels (ImpRecording *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->channels->len;
}

/**
 * imp_recording_get_sample_rate:
 * @self: a recording
 *
 * Returns: the sampling rate in Hz, the same for every channel
 */
double
imp_recording_get_sample_rate (ImpRecording *self)
{
  g_return_val_if_fail (self != NULL, 0.0);

  return self->sample_rate;
}

/**
 * imp_recording_get_n_samples:
 * @self: a recording
 *
 * Returns: samples per channel, all sweeps together
 */
gint64
imp_recording_get_n_samples (ImpRecording *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->n_samples;
}

/**
 * imp_recording_get_duration:
 * @self: a recording
 *
 * Returns: the recorded time in seconds (gaps between sweeps excluded)
 */
double
imp_recording_get_duration (ImpRecording *self)
{
  g_return_val_if_fail (self != NULL, 0.0);

  return (double) self->n_samples / self->sample_rate;
}

/**
 * imp_recording_get_channel:
 * @self: a recording
 * @index: a channel index
 *
 * Returns: (transfer none) (nullable): the channel, or %NULL if @index is
 *   out of range
 */
const ImpChannel *
imp_recording_get_channel (ImpRecording *self,
                           guint         index)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (index < self->channels->len, NULL);

  return &g_array_index (self->channels, ImpChannel, index);
}

/**
 * imp_recording_get_n_sweeps:
 * @self: a recording
 *
 * Returns: the number of sweeps, 1 for a continuous recording
 */
guint
imp_recording_get_n_sweeps (ImpRecording *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->sweeps->len;
}

/**
 * imp_recording_get_sweep:
 * @self: a recording
 * @index: a sweep index
 *
 * Returns: (transfer none) (nullable): the sweep, or %NULL if @index is
 *   out of range
 */
const ImpSweep *
imp_recording_get_sweep (ImpRecording *self,
                         guint         index)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (index < self->sweeps->len, NULL);

  return &g_array_index (self->sweeps, ImpSweep, index);
}

/**
 * imp_recording_sweep_at:
 * @self: a recording
 * @sample: a sample index
 *
 * Returns: the index of the sweep that holds @sample; samples before the
 *   first or after the last sweep give the first or last sweep
 */
guint
imp_recording_sweep_at (ImpRecording *self,
                        gint64        sample)
{
  guint lo = 0;
  guint hi;

  g_return_val_if_fail (self != NULL, 0);

  if (self->sweeps->len == 0)
    return 0;

  /* Binary search for the last sweep starting at or before @sample. */
  hi = self->sweeps->len - 1;
  while (lo < hi)
    {
      guint mid = lo + (hi - lo + 1) / 2;

      if (g_array_index (self->sweeps, ImpSweep, mid).start_sample <= sample)
        lo = mid;
      else
        hi = mid - 1;
    }
  return lo;
}

/**
 * imp_recording_get_warning:
 * @self: a recording
 *
 * Returns: (nullable): a description of the repairs made while opening
 *   (one per line), or %NULL if the file was read as it is
 */
const char *
imp_recording_get_warning (ImpRecording *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->warning;
}

/**
 * imp_recording_get_attribute:
 * @self: a recording
 * @key: an attribute name
 *
 * Free-form text the file carries, such as the simulator's seed in a
 * native file or the session description of an NWB file.
 *
 * Returns: (nullable): the value, or %NULL if the file has no such
 *   attribute
 */
const char *
imp_recording_get_attribute (ImpRecording *self,
                             const char   *key)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (key != NULL, NULL);

  return g_hash_table_lookup (self->attributes, key);
}

/**
 * imp_recording_read:
 * @self: a recording
 * @first_channel: the first channel to read
 * @n_channels: how many channels
 * @first_sample: the first sample to read
 * @n_samples: how many samples per channel
 * @out: (out caller-allocates) (array): @n_channels × @n_samples floats,
 *   channel-major: out[c * n_samples + s]
 * @error: return location for a #GError
 *
 * Reads samples in each channel's physical unit. Safe to call from any
 * thread; reads of one recording are serialised.
 *
 * Returns: %TRUE on success
 */
gboolean
imp_recording_read (ImpRecording  *self,
                    guint          first_channel,
                    guint          n_channels,
                    gint64         first_sample,
                    gint64         n_samples,
                    float         *out,
                    GError       **error)
{
  gboolean ok;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (out != NULL || n_channels == 0 || n_samples == 0,
                        FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (first_channel > self->channels->len
      || n_channels > self->channels->len - first_channel)
    {
      g_set_error (error, IMP_RECORDING_ERROR, IMP_RECORDING_ERROR_RANGE,
                   "Channels %u to %u requested, but the recording has %u",
                   first_channel, first_channel + n_channels - 1,
                   self->channels->len);
      return FALSE;
    }
  if (n_samples < 0 || first_sample < 0 || first_sample > self->n_samples
      || n_samples > self->n_samples - first_sample)
    {
      g_set_error (error, IMP_RECORDING_ERROR, IMP_RECORDING_ERROR_RANGE,
                   "Samples %" G_GINT64_FORMAT " to %" G_GINT64_FORMAT
                   " requested, but the recording has %" G_GINT64_FORMAT,
                   first_sample, first_sample + n_samples - 1,
                   self->n_samples);
      return FALSE;
    }
  if (n_channels == 0 || n_samples == 0)
    return TRUE;

  g_mutex_lock (&self->lock);
  ok = self->backend->read (self, first_channel, n_channels,
                            first_sample, n_samples, out, error);
  g_mutex_unlock (&self->lock);

  if (!ok && error != NULL && *error == NULL)
    g_set_error_literal (error, IMP_RECORDING_ERROR, IMP_RECORDING_ERROR_IO,
                         "The read failed");
  return ok;
}
