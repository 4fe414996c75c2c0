/* imp-recording.c
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
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
  self->raw_max = g_array_new (FALSE, TRUE, sizeof (double));
  self->bad_positions = g_array_new (FALSE, FALSE, sizeof (guint));
  self->fd = -1;

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
  g_array_set_size (self->raw_max, self->channels->len);
}

void
_imp_recording_set_raw_max (ImpRecording *self,
                            guint         index,
                            double        raw_max)
{
  g_assert (self != NULL);
  g_assert (index < self->channels->len);

  g_array_index (self->raw_max, double, index) = raw_max;
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
  channel->has_position = isfinite (x_um) && isfinite (y_um)
                          && fabs (x_um) <= IMP_RECORDING_MAX_POSITION
                          && fabs (y_um) <= IMP_RECORDING_MAX_POSITION;
  channel->x_um = channel->has_position ? x_um : NAN;
  channel->y_um = channel->has_position ? y_um : NAN;
  /* NaN is how a file says "unknown"; anything else is an error. */
  if (!channel->has_position && !isnan (x_um) && !isnan (y_um))
    g_array_append_val (self->bad_positions, index);
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

  g_autofree char *valid = NULL;

  g_assert (self != NULL);
  g_assert (text != NULL);

  valid = g_utf8_make_valid (text, -1);
  /* A probe child must not log: GLib's lock may be held for ever. */
  if (!_imp_probe_in_child ())
    g_debug ("%s: %s", self->path, valid);
  if (self->warning == NULL)
    {
      self->warning = g_steal_pointer (&valid);
      return;
    }
  joined = g_strconcat (self->warning, "\n", valid, NULL);
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

  g_hash_table_replace (self->attributes, g_utf8_make_valid (key, -1),
                        g_utf8_make_valid (value != NULL ? value : "", -1));
}

char *
_imp_text_from_legacy (const char *bytes,
                       gssize      len)
{
  g_autofree char *copy = NULL;
  char *converted;

  g_assert (bytes != NULL);

  copy = len < 0 ? g_strdup (bytes) : g_strndup (bytes, len);
  if (g_utf8_validate (copy, -1, NULL))
    return g_steal_pointer (&copy);
  converted = g_convert (copy, -1, "UTF-8", "WINDOWS-1252", NULL, NULL,
                         NULL);
  if (converted == NULL)
    /* Five bytes have no Windows-1252 meaning; Latin-1 has them all. */
    converted = g_convert (copy, -1, "UTF-8", "ISO-8859-1", NULL, NULL,
                           NULL);
  if (converted == NULL)
    converted = g_utf8_make_valid (copy, -1);

  return converted;
}

static gboolean
validate_size (ImpRecording  *self,
               GError       **error)
{
  if (!isfinite (self->sample_rate) || self->sample_rate <= 0.0)
    {
      g_set_error (error, IMP_RECORDING_ERROR, IMP_RECORDING_ERROR_NO_RATE,
                   "the sampling rate is %g Hz; it must be a positive "
                   "number", self->sample_rate);
      return FALSE;
    }
  if (self->sample_rate > IMP_RECORDING_MAX_RATE_HZ
      || self->sample_rate < IMP_RECORDING_MIN_RATE_HZ)
    {
      g_set_error (error, IMP_RECORDING_ERROR, IMP_RECORDING_ERROR_NO_RATE,
                   "the sampling rate of %g Hz is absurd (%s %g Hz); "
                   "the header is probably corrupt", self->sample_rate,
                   self->sample_rate > IMP_RECORDING_MAX_RATE_HZ
                   ? "above" : "below",
                   self->sample_rate > IMP_RECORDING_MAX_RATE_HZ
                   ? IMP_RECORDING_MAX_RATE_HZ : IMP_RECORDING_MIN_RATE_HZ);
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

  return TRUE;
}

static gboolean
is_physical_unit (const char *unit)
{
  return g_strcmp0 (unit, "mV") == 0 || g_strcmp0 (unit, "pA") == 0;
}

/**
 * _imp_recording_check_scale:
 * @what: the channel or series, as messages name it
 * @unit: its canonical unit
 * @gain: unit per stored value
 * @offset: value of stored 0
 * @raw_max: the largest |stored value|, or 0 if unknown (floats)
 * @error: return location for a #GError
 *
 * A gain and offset that turn stored values into infinities, or into
 * values no amplifier gives (beyond ±IMP_RECORDING_MAX_PHYSICAL mV or
 * pA), are corrupt. Without a known range, one stored unit and the
 * offset must make sense on their own.
 *
 * Returns: %TRUE if they are plausible
 */
gboolean
_imp_recording_check_scale (const char  *what,
                            const char  *unit,
                            double       gain,
                            double       offset,
                            double       raw_max,
                            GError     **error)
{
  double limit = is_physical_unit (unit) ? IMP_RECORDING_MAX_PHYSICAL
                                         : FLT_MAX / 1.0e3;
  double extreme;

  if (!isfinite (gain) || gain == 0.0)
    {
      g_set_error (error, IMP_RECORDING_ERROR, IMP_RECORDING_ERROR_MALFORMED,
                   "%s has a gain of %g; it must be a finite, non-zero "
                   "number", what, gain);
      return FALSE;
    }
  if (!isfinite (offset))
    {
      g_set_error (error, IMP_RECORDING_ERROR, IMP_RECORDING_ERROR_MALFORMED,
                   "%s has an offset of %g; it must be a finite number",
                   what, offset);
      return FALSE;
    }
  extreme = raw_max > 0.0 ? fabs (gain) * raw_max + fabs (offset)
                          : MAX (fabs (gain), fabs (offset));
  if (!(extreme <= limit))
    {
      g_set_error (error, IMP_RECORDING_ERROR, IMP_RECORDING_ERROR_MALFORMED,
                   "%s would read values up to %.3g %s (%.3g %s per stored "
                   "unit, offset %.3g %s); its scale factors are corrupt",
                   what, extreme, unit, gain, unit, offset, unit);
      return FALSE;
    }

  return TRUE;
}

static gboolean
validate_scale (ImpRecording  *self,
                guint          i,
                GError       **error)
{
  const ImpChannel *ch = &g_array_index (self->channels, ImpChannel, i);
  g_autofree char *what = g_strdup_printf ("channel %u (“%s”)", i,
                                           ch->label);

  return _imp_recording_check_scale (what, ch->unit, ch->gain, ch->offset,
                                     g_array_index (self->raw_max, double, i),
                                     error);
}

static gboolean
validate_sweeps (ImpRecording  *self,
                 GError       **error)
{
  gint64 next = 0;

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

/* Start times that go back, or before the recording began, are kept as
 * the file has them, but said. Equal start times are common (writers
 * that record no sweep times) and pass. */
static void
warn_sweep_times (ImpRecording *self)
{
  const ImpSweep *first = &g_array_index (self->sweeps, ImpSweep, 0);

  if (first->start_s < 0.0)
    {
      g_autofree char *msg = g_strdup_printf (
        "Sweep 0 starts at %g s, before the recording began; times are "
        "shown as the file gives them", first->start_s);

      _imp_recording_add_warning (self, msg);
    }
  for (guint i = 1; i < self->sweeps->len; i++)
    {
      const ImpSweep *prev = &g_array_index (self->sweeps, ImpSweep, i - 1);
      const ImpSweep *sw = &g_array_index (self->sweeps, ImpSweep, i);

      if (sw->start_s < prev->start_s)
        {
          g_autofree char *msg = g_strdup_printf (
            "Sweep start times go backwards: sweep %u starts at %g s, "
            "before sweep %u at %g s; sweeps are kept in file order",
            i, sw->start_s, i - 1, prev->start_s);

          _imp_recording_add_warning (self, msg);
          return;
        }
    }
}

/* Channels the analysis will not take as membrane potential: units that
 * are neither a voltage nor a current. */
static void
warn_units (ImpRecording *self)
{
  g_autoptr(GString) list = g_string_new (NULL);
  guint n = 0;

  for (guint i = 0; i < self->channels->len; i++)
    {
      const ImpChannel *ch = &g_array_index (self->channels, ImpChannel, i);

      if (ch->unit[0] == '\0' || is_physical_unit (ch->unit))
        continue;
      g_string_append_printf (list, "%s%u (“%s”, in “%s”%s)",
                              n > 0 ? ", " : "", i, ch->label, ch->unit,
                              g_str_equal (ch->unit, "MV")
                              ? ": megavolts; “mV” would be millivolts" : "");
      n++;
    }
  if (n > 0)
    {
      g_autofree char *msg = g_strdup_printf (
        "%s %s %s not in a unit of voltage or current that Imprint "
        "knows, so %s not analysed as membrane potential",
        n == 1 ? "Channel" : "Channels", list->str, n == 1 ? "is" : "are",
        n == 1 ? "it is" : "they are");

      _imp_recording_add_warning (self, msg);
    }
}

static void
warn_positions (ImpRecording *self)
{
  g_autoptr(GString) list = g_string_new (NULL);

  if (self->bad_positions->len == 0)
    return;
  for (guint i = 0; i < self->bad_positions->len; i++)
    g_string_append_printf (list, "%s%u", i > 0 ? ", " : "",
                            g_array_index (self->bad_positions, guint, i));
  {
    g_autofree char *msg = g_strdup_printf (
      "The electrode %s of %s %s %s infinite or further than %g m from "
      "the origin; %s dropped",
      self->bad_positions->len == 1 ? "position" : "positions",
      self->bad_positions->len == 1 ? "channel" : "channels", list->str,
      self->bad_positions->len == 1 ? "is" : "are",
      IMP_RECORDING_MAX_POSITION * 1e-6,
      self->bad_positions->len == 1 ? "it is" : "they are");

    _imp_recording_add_warning (self, msg);
  }
}

/* Labels and units end up in JSON, CSV and the window: always UTF-8. */
static void
make_text_valid (ImpRecording *self)
{
  for (guint i = 0; i < self->channels->len; i++)
    {
      ImpChannel *ch = &g_array_index (self->channels, ImpChannel, i);
      char *label = g_utf8_make_valid (ch->label, -1);
      char *unit = g_utf8_make_valid (ch->unit, -1);

      g_free (ch->label);
      ch->label = label;
      g_free (ch->unit);
      ch->unit = unit;
    }
}

gboolean
_imp_recording_validate (ImpRecording  *self,
                         GError       **error)
{
  g_assert (self != NULL);

  make_text_valid (self);
  if (!validate_size (self, error))
    return FALSE;
  g_array_set_size (self->raw_max, self->channels->len);
  for (guint i = 0; i < self->channels->len; i++)
    if (!validate_scale (self, i, error))
      return FALSE;
  if (!validate_sweeps (self, error))
    return FALSE;

  warn_sweep_times (self);
  warn_units (self);
  warn_positions (self);

  return TRUE;
}

typedef ImpRecording *(*ImpOpenFunc) (const char  *path,
                                      GError     **error);

/* Values a probe child reads at each end of the recording: enough to
 * decode a chunk of every channel, little enough to take a millisecond. */
#define PROBE_READ_VALUES     65536
/* Sweeps whose first samples a probe child reads. */
#define PROBE_MAX_SWEEPS      4096
#define PROBE_SWEEP_SAMPLES   16
#define PROBE_TIMEOUT_S       20
/* Extra time per byte of file, for files whose metadata is large. */
#define PROBE_BYTES_PER_S     (200 * 1024 * 1024)

static const ImpOpenFunc hdf5_openers[] = {
  _imp_native_open,
  _imp_nwb_open,
};

static const ImpOpenFunc other_openers[] = {
  _imp_biosig_open,
};

/* Tries @openers in turn. Returns NULL without error if none recognises
 * the file. */
static ImpRecording *
open_with (const char         *path,
           const ImpOpenFunc  *openers,
           guint               n_openers,
           GError            **error)
{
  for (guint i = 0; i < n_openers; i++)
    {
      g_autoptr(ImpRecording) rec = NULL;

      rec = openers[i] (path, error);
      if (rec == NULL && error != NULL && *error != NULL)
        return NULL;
      if (rec == NULL)
        continue;
      if (!_imp_recording_validate (rec, error))
        return NULL;
      return g_steal_pointer (&rec);
    }

  return NULL;
}

static gboolean
probe_read_at (ImpRecording  *rec,
               gint64         first,
               gint64         n,
               float         *buf,
               GError       **error)
{
  return imp_recording_read (rec, 0, rec->channels->len, first, n, buf,
                             error);
}

/* Runs in the probe child: opens the file as this process will, then
 * reads each end of the samples and the start of every sweep, so that
 * every dataset and chunk index the reader uses first is touched. */
static gboolean
probe_hdf5_cb (gpointer   data,
               GError   **error)
{
  const char *path = data;
  g_autoptr(ImpRecording) rec = NULL;
  g_autofree float *buf = NULL;
  guint n_ch;
  gint64 block;

  rec = open_with (path, hdf5_openers, G_N_ELEMENTS (hdf5_openers), error);
  if (rec == NULL)
    return FALSE;

  _imp_probe_stage ("its samples");
  n_ch = rec->channels->len;
  block = MIN (rec->n_samples, MAX (PROBE_SWEEP_SAMPLES,
                                   PROBE_READ_VALUES / n_ch));
  buf = g_new (float, (gsize) block * n_ch);
  if (!probe_read_at (rec, 0, block, buf, error)
      || !probe_read_at (rec, rec->n_samples - block, block, buf, error))
    return FALSE;
  for (guint i = 1; i < MIN (rec->sweeps->len, PROBE_MAX_SWEEPS); i++)
    {
      const ImpSweep *sw = &g_array_index (rec->sweeps, ImpSweep, i);

      if (!probe_read_at (rec, sw->start_sample,
                          MIN (sw->n_samples, MIN (PROBE_SWEEP_SAMPLES, block)),
                          buf, error))
        return FALSE;
    }

  return TRUE;
}

/* An HDF5 file is opened in a child first (see imp-probe.c): a damaged
 * file can crash the HDF5 library. Returns FALSE with @error set if the
 * file must not be opened here; *@declined is set when neither HDF5
 * reader recognises it. */
static gboolean
probe_hdf5 (const char  *path,
            goffset      size,
            gboolean    *declined,
            GError     **error)
{
  ImpProbeReport report;
  guint timeout = PROBE_TIMEOUT_S + (guint) (size / PROBE_BYTES_PER_S);
  const char *stage;
  gboolean ok = FALSE;

  *declined = FALSE;
  _imp_probe_run (probe_hdf5_cb, (gpointer) path, _imp_h5_mutex (),
                  timeout, IMP_PROBE_MEMORY_BYTES, &report);
  stage = report.stage != NULL ? report.stage : "its header";
  switch (report.outcome)
    {
    case IMP_PROBE_OK:
      ok = TRUE;
      break;
    case IMP_PROBE_UNAVAILABLE:
      g_debug ("No probe child for %s; opening it unprobed", path);
      ok = TRUE;
      break;
    case IMP_PROBE_DECLINED:
      *declined = TRUE;
      ok = TRUE;
      break;
    case IMP_PROBE_FAILED:
      g_set_error_literal (error, IMP_RECORDING_ERROR, report.code,
                           report.message);
      break;
    case IMP_PROBE_CRASHED:
      g_set_error (error, IMP_RECORDING_ERROR, IMP_RECORDING_ERROR_MALFORMED,
                   "the file is damaged: the HDF5 library crashed (%s) "
                   "while reading %s",
                   report.signal > 0 ? g_strsignal (report.signal)
                                     : "abnormal exit", stage);
      break;
    case IMP_PROBE_TIMEOUT:
      g_set_error (error, IMP_RECORDING_ERROR, IMP_RECORDING_ERROR_MALFORMED,
                   "the file is probably damaged: the HDF5 library did not "
                   "finish reading %s within %u s", stage, timeout);
      break;
    case IMP_PROBE_EXITED:
    default:
      g_set_error (error, IMP_RECORDING_ERROR, IMP_RECORDING_ERROR_MALFORMED,
                   "the file is damaged: the HDF5 library gave up reading "
                   "%s and tried to end the program", stage);
      break;
    }
  _imp_probe_report_clear (&report);

  return ok;
}

/* Whether @text starts with a lower-case English word, not a name such
 * as libbiosig or a series' "ic__Step__2". */
static gboolean
starts_with_word (const char *text)
{
  gsize n = 0;

  while (g_ascii_islower (text[n]))
    n++;
  return n > 0 && (text[n] == ' ' || text[n] == '\0')
         && !g_str_has_prefix (text, "libbiosig ");
}

/* Messages name no file: the command line and the window name it
 * themselves, once. They start with a capital and are UTF-8. */
static void
set_open_error (GError **error,
                GError  *local_error)
{
  /* Names of groups and series come from the file, in any encoding. */
  if (!g_utf8_validate (local_error->message, -1, NULL))
    {
      char *valid = g_utf8_make_valid (local_error->message, -1);

      g_free (local_error->message);
      local_error->message = valid;
    }
  if (starts_with_word (local_error->message))
    local_error->message[0] = g_ascii_toupper (local_error->message[0]);
  g_propagate_error (error, local_error);
}

static int
open_plain (const char  *path,
            GStatBuf    *st,
            GError     **error)
{
  int fd;

  fd = g_open (path, O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0 || fstat (fd, st) != 0)
    {
      int saved = errno;

      if (fd >= 0)
        close (fd);
      g_set_error_literal (error, IMP_RECORDING_ERROR,
                           IMP_RECORDING_ERROR_NOT_FOUND,
                           g_strerror (saved));
      return -1;
    }
  if (!S_ISREG (st->st_mode))
    {
      close (fd);
      g_set_error_literal (error, IMP_RECORDING_ERROR,
                           IMP_RECORDING_ERROR_NOT_FOUND,
                           "It is not a regular file");
      return -1;
    }
  if (st->st_size == 0)
    {
      close (fd);
      g_set_error_literal (error, IMP_RECORDING_ERROR,
                           IMP_RECORDING_ERROR_UNKNOWN_FORMAT,
                           "The file is empty");
      return -1;
    }

  return fd;
}

static gint64
mtime_us (const struct stat *st)
{
  return (gint64) st->st_mtim.tv_sec * G_USEC_PER_SEC
         + st->st_mtim.tv_nsec / 1000;
}

/**
 * imp_recording_open:
 * @path: a file name in the GLib file name encoding
 * @error: return location for a #GError
 *
 * Opens a recording, trying Imprint's native HDF5 layout, NWB 2 and the
 * formats libbiosig reads, in that order. Only the header and a few
 * samples are read. The error message does not name the file.
 *
 * Returns: (transfer full) (nullable): the recording, or %NULL with
 *   @error set in the %IMP_RECORDING_ERROR domain
 */
ImpRecording *
imp_recording_open (const char  *path,
                    GError     **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autoptr(ImpRecording) rec = NULL;
  gboolean declined = FALSE;
  GStatBuf st;
  int fd;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  fd = open_plain (path, &st, &local_error);
  if (fd < 0)
    {
      set_open_error (error, g_steal_pointer (&local_error));
      return NULL;
    }

  if (_imp_h5_is_hdf5 (path))
    {
      if (probe_hdf5 (path, st.st_size, &declined, &local_error)
          && !declined)
        rec = open_with (path, hdf5_openers, G_N_ELEMENTS (hdf5_openers),
                         &local_error);
    }
  else
    {
      rec = open_with (path, other_openers, G_N_ELEMENTS (other_openers),
                       &local_error);
    }
  if (local_error != NULL)
    {
      close (fd);
      set_open_error (error, g_steal_pointer (&local_error));
      return NULL;
    }
  if (rec == NULL)
    {
      close (fd);
      g_set_error_literal (error, IMP_RECORDING_ERROR,
                           IMP_RECORDING_ERROR_UNKNOWN_FORMAT,
                           "It is not in a recording format Imprint reads "
                           "(Imprint HDF5, NWB 2, or a format libbiosig "
                           "reads such as ABF, HEKA PatchMaster, CFS, EDF "
                           "or GDF)");
      return NULL;
    }

  rec->fd = fd;
  rec->file_size = st.st_size;
  rec->file_mtime = mtime_us (&st);
  g_debug ("Opened %s as %s: %u channels, %" G_GINT64_FORMAT
           " samples at %g Hz, %u sweeps", path,
           imp_recording_get_format (rec), rec->channels->len,
           rec->n_samples, rec->sample_rate, rec->sweeps->len);

  return g_steal_pointer (&rec);
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
  g_array_unref (self->raw_max);
  g_array_unref (self->bad_positions);
  if (self->fd >= 0)
    close (self->fd);
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
 * imp_access_to_string:
 * @access: an access class
 *
 * Returns: the name used for @access in JSON and text output:
 *   "intracellular", "extracellular", "none" or "unknown"
 */
const char *
imp_access_to_string (ImpAccess access)
{
  switch (access)
    {
    case IMP_ACCESS_INTRACELLULAR:
      return "intracellular";
    case IMP_ACCESS_EXTRACELLULAR:
      return "extracellular";
    case IMP_ACCESS_NONE:
      return "none";
    case IMP_ACCESS_UNKNOWN:
    default:
      return "unknown";
    }
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

/* A file truncated, extended or rewritten since it was opened no longer
 * holds what the header said: its reads are refused. */
static gboolean
check_unchanged (ImpRecording  *self,
                 GError       **error)
{
  struct stat st;

  if (self->fd < 0)
    return TRUE;
  if (fstat (self->fd, &st) != 0)
    {
      int saved = errno;

      g_set_error (error, IMP_RECORDING_ERROR, IMP_RECORDING_ERROR_IO,
                   "Cannot check the file: %s", g_strerror (saved));
      return FALSE;
    }
  if ((gint64) st.st_size != self->file_size
      || mtime_us (&st) != self->file_mtime)
    {
      g_autofree char *how = (gint64) st.st_size != self->file_size
        ? g_strdup_printf ("it was %" G_GINT64_FORMAT " bytes, now %"
                           G_GINT64_FORMAT, self->file_size,
                           (gint64) st.st_size)
        : g_strdup ("it was rewritten");

      g_set_error (error, IMP_RECORDING_ERROR, IMP_RECORDING_ERROR_IO,
                   "The file changed on disk since it was opened (%s); "
                   "open it again", how);
      return FALSE;
    }

  return TRUE;
}

/* Ends a read made under the lock, with the back end's @ok: checks the
 * file once after the read, which catches a change made before it or
 * during it, and a change's message wins over the back end's; unlocks.
 * A failure always has a message. */
static gboolean
read_finish (ImpRecording  *self,
             gboolean       ok,
             GError       **error)
{
  if (ok)
    ok = check_unchanged (self, error);
  else
    {
      g_autoptr(GError) changed = NULL;

      if (!check_unchanged (self, &changed))
        {
          g_clear_error (error);
          g_propagate_error (error, g_steal_pointer (&changed));
        }
    }
  g_mutex_unlock (&self->lock);

  if (!ok && error != NULL && *error == NULL)
    g_set_error_literal (error, IMP_RECORDING_ERROR, IMP_RECORDING_ERROR_IO,
                         "The read failed");
  return ok;
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
  /* A file cut short reads as zeros, or fails with the library's words. */
  ok = self->backend->read (self, first_channel, n_channels,
                            first_sample, n_samples, out, error);
  return read_finish (self, ok, error);
}

gboolean
_imp_recording_chunk_layout (ImpRecording   *self,
                             ImpChunkLayout *layout)
{
  gboolean ok;

  g_assert (self != NULL);
  g_assert (layout != NULL);

  if (self->backend->chunk_layout == NULL
      || self->backend->read_chunk == NULL)
    return FALSE;
  memset (layout, 0, sizeof *layout);
  g_mutex_lock (&self->lock);
  ok = self->backend->chunk_layout (self, layout);
  g_mutex_unlock (&self->lock);
  return ok && layout->rows > 0 && layout->cols > 0
         && layout->n_filters <= IMP_CHUNK_MAX_FILTERS;
}

gboolean
_imp_recording_read_chunk (ImpRecording  *self,
                           gint64         row,
                           guint          col,
                           GByteArray    *raw,
                           guint32       *filter_mask,
                           GError       **error)
{
  gboolean ok;

  g_assert (self != NULL);
  g_assert (self->backend->read_chunk != NULL);
  g_assert (raw != NULL);

  *filter_mask = 0;
  g_mutex_lock (&self->lock);
  ok = self->backend->read_chunk (self, row, col, raw, filter_mask, error);
  return read_finish (self, ok, error);
}

/* Block by block through read(), for back ends without read_strided(). */
static gboolean
read_strided_fallback (ImpRecording  *self,
                       guint          first_channel,
                       guint          n_channels,
                       gint64         first_sample,
                       gint64         stride,
                       gint64         width,
                       gint64         n_blocks,
                       float         *out,
                       GError       **error)
{
  g_autofree float *block = g_new (float, (gsize) n_channels * width);

  for (gint64 b = 0; b < n_blocks; b++)
    {
      if (!self->backend->read (self, first_channel, n_channels,
                                first_sample + b * stride, width, block,
                                error))
        return FALSE;

      for (guint c = 0; c < n_channels; c++)
        memcpy (out + ((gsize) c * n_blocks + b) * width,
                block + (gsize) c * width, width * sizeof (float));
    }

  return TRUE;
}

/**
 * imp_recording_read_strided:
 * @self: a recording
 * @first_channel: the first channel to read
 * @n_channels: how many channels
 * @first_sample: where the first block starts
 * @stride: samples from the start of one block to the next, >= @width
 * @width: samples per block
 * @n_blocks: how many blocks
 * @out: (out caller-allocates) (array): @n_channels × @n_blocks × @width
 *   floats: out[c * n_blocks * width + b * width + s]
 * @error: return location for a #GError
 *
 * Reads evenly spaced blocks of samples, in each channel's physical unit,
 * as imp_recording_read() would read each of them.
 *
 * Returns: %TRUE on success
 */
gboolean
imp_recording_read_strided (ImpRecording  *self,
                            guint          first_channel,
                            guint          n_channels,
                            gint64         first_sample,
                            gint64         stride,
                            gint64         width,
                            gint64         n_blocks,
                            float         *out,
                            GError       **error)
{
  gint64 last;
  gboolean ok;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (width > 0 && stride >= width && n_blocks >= 0,
                        FALSE);
  g_return_val_if_fail (out != NULL || n_channels == 0 || n_blocks == 0,
                        FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (n_blocks == 0 || n_channels == 0)
    return imp_recording_read (self, first_channel, n_channels, 0, 0, out,
                               error);

  if (first_channel > self->channels->len
      || n_channels > self->channels->len - first_channel)
    {
      g_set_error (error, IMP_RECORDING_ERROR, IMP_RECORDING_ERROR_RANGE,
                   "Channels %u to %u requested, but the recording has %u",
                   first_channel, first_channel + n_channels - 1,
                   self->channels->len);
      return FALSE;
    }
  last = n_blocks <= G_MAXINT64 / 2 / stride
         ? first_sample + (n_blocks - 1) * stride : G_MAXINT64 / 2;
  if (first_sample < 0 || last > self->n_samples - width)
    {
      g_set_error (error, IMP_RECORDING_ERROR, IMP_RECORDING_ERROR_RANGE,
                   "Samples %" G_GINT64_FORMAT " to %" G_GINT64_FORMAT
                   " requested, but the recording has %" G_GINT64_FORMAT,
                   first_sample, last + width - 1, self->n_samples);
      return FALSE;
    }

  g_mutex_lock (&self->lock);
  if (self->backend->read_strided != NULL)
    ok = self->backend->read_strided (self, first_channel, n_channels,
                                      first_sample, stride, width,
                                      n_blocks, out, error);
  else
    ok = read_strided_fallback (self, first_channel, n_channels,
                                first_sample, stride, width, n_blocks, out,
                                error);
  return read_finish (self, ok, error);
}

