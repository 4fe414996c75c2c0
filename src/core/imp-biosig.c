/* imp-biosig.c
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include <biosig.h>

#include "imp-recording-private.h"

/* Recordings read through libbiosig: ABF 1 and 2, HEKA PatchMaster, CFS,
 * EDF, GDF and the other formats it knows.
 *
 * libbiosig is used with care:
 *
 * - It keeps global state and is not thread-safe, so every call holds
 *   biosig_lock, across recordings.
 * - Some of its readers print to stdout or stderr, and a few call exit()
 *   or crash on damaged files. Before a file is opened in this process, a
 *   forked child opens it and reads its first and last record; only if
 *   that child ends normally is the file opened here, with the library's
 *   output captured (it becomes part of the recording's warning).
 * - ABF files are read from their own header and data section, which
 *   are simple. libbiosig (2.5) misreads episodic ABF 2 files (one sweep,
 *   no unit, wrong scale), ignores the ABF 1 sampling sequence (wrong
 *   name, unit and gain for a channel other than IN 0, 1, ...), and
 *   crashes reading part of an episodic ABF 1 file that does not start at
 *   its beginning. It still opens every ABF file as a second opinion:
 *   where it disagrees with the header, the warning says so and what was
 *   used instead. */

#define PROBE_TIMEOUT_S      15
#define CACHE_LIMIT_BYTES    (256 * 1024 * 1024)
#define READ_BLOCK_VALUES    (1024 * 1024)
#define ABF_BLOCK            512
#define ABF1_HEADER_MIN      2048
#define ABF1_HEADER_FULL     6144
#define ABF_MAX_CHANNELS     16
#define ABF2_MAX_SECTION     (64 * 1024)

static GRecMutex biosig_lock;

/* ABF headers */

typedef struct
{
  int       major;           /* 1 or 2 */
  double    version;
  int       op_mode;         /* 1 variable events, 2 fixed events, 3 gap-free,
                              * 4 high-speed oscilloscope, 5 episodic */
  guint     n_channels;
  double    rate;            /* per channel, Hz */
  gboolean  is_float;
  goffset   data_offset;
  gint64    n_values;        /* samples of all channels together */
  GArray   *sweeps;          /* of ImpSweep, per channel */
  char     *repair;          /* what was repaired in the header, or NULL */
  char     *labels[ABF_MAX_CHANNELS];
  char     *units[ABF_MAX_CHANNELS];
  double    gain[ABF_MAX_CHANNELS];
  double    offset[ABF_MAX_CHANNELS];
} AbfInfo;

static void
abf_info_free (AbfInfo *abf)
{
  if (abf == NULL)
    return;
  g_clear_pointer (&abf->sweeps, g_array_unref);
  g_free (abf->repair);
  for (guint i = 0; i < ABF_MAX_CHANNELS; i++)
    {
      g_free (abf->labels[i]);
      g_free (abf->units[i]);
    }
  g_free (abf);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AbfInfo, abf_info_free)

static gboolean
read_exact (int      fd,
            goffset  offset,
            void    *buf,
            gsize    len)
{
  guint8 *p = buf;

  while (len > 0)
    {
      ssize_t got = pread (fd, p, len, offset);

      if (got < 0 && errno == EINTR)
        continue;
      if (got <= 0)
        return FALSE;
      p += got;
      len -= got;
      offset += got;
    }
  return TRUE;
}

static gint16
le_i16 (const guint8 *b,
        gsize         off)
{
  guint16 v;

  memcpy (&v, b + off, 2);
  return (gint16) GUINT16_FROM_LE (v);
}

static gint32
le_i32 (const guint8 *b,
        gsize         off)
{
  guint32 v;

  memcpy (&v, b + off, 4);
  return (gint32) GUINT32_FROM_LE (v);
}

static gint64
le_i64 (const guint8 *b,
        gsize         off)
{
  guint64 v;

  memcpy (&v, b + off, 8);
  return (gint64) GUINT64_FROM_LE (v);
}

static float
le_f32 (const guint8 *b,
        gsize         off)
{
  guint32 v;
  float f;

  memcpy (&v, b + off, 4);
  v = GUINT32_FROM_LE (v);
  memcpy (&f, &v, 4);
  return f;
}

/* Axon's programs write names and units in the Windows code page: "µV"
 * is the single byte 0xB5. */
static char *
fixed_string (const guint8 *b,
              gsize         off,
              gsize         len)
{
  gsize n = strnlen ((const char *) b + off, len);

  return g_strstrip (_imp_text_from_legacy ((const char *) b + off, n));
}

static void
abf_set_malformed (GError     **error,
                   const char  *format,
                   ...) G_GNUC_PRINTF (2, 3);

static void
abf_set_malformed (GError     **error,
                   const char  *format,
                   ...)
{
  g_autofree char *msg = NULL;
  va_list args;

  va_start (args, format);
  msg = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, IMP_RECORDING_ERROR, IMP_RECORDING_ERROR_MALFORMED,
               "the ABF header is not valid: %s", msg);
}

/* Scale from counts to the channel's unit, as Axon's own reading library
 * (ABFH_GetADCtoUUFactors in the ABF File Support Pack) computes it:
 * count × range / resolution / (instrument scale × programmable gain ×
 * signal gain × telegraphed gain) + instrument offset − signal offset.
 * The signal conditioner's gain and offset count only when the header
 * names a conditioner (nSignalType ≠ 0, a CyberAmp); the telegraphed
 * gain only where telegraphs are enabled for that input.
 *
 * A header's scale is used even where it looks odd: an auxiliary input
 * declared as mV at 1e-4 V per mV that carries a steady 0.3 V reads as
 * +3,000 mV. That is what the file says, and what libbiosig and pyABF
 * read too. */
static double
abf_gain (double range,
          gint32 resolution,
          double instrument_scale,
          double signal_gain,
          double programmable_gain,
          double telegraph_gain)
{
  double divisor = instrument_scale * signal_gain * programmable_gain
                   * telegraph_gain;

  if (resolution <= 0 || divisor == 0.0)
    return NAN;
  return range / resolution / divisor;
}

/* Reads the synch array: @entries pairs of (start, length) int32. */
static guint8 *
abf_read_synch (int       fd,
                goffset   offset,
                gint64    entries,
                GError  **error)
{
  g_autofree guint8 *synch = g_malloc (entries * 8);

  if (!read_exact (fd, offset, synch, entries * 8))
    {
      abf_set_malformed (error, "the synch array lies beyond the end of "
                         "the file");
      return NULL;
    }
  return g_steal_pointer (&synch);
}

/* Variable-length events: the synch array has every length. */
static gboolean
abf_event_sweeps (AbfInfo       *abf,
                  const guint8  *synch,
                  gint64         entries,
                  double         unit_us,
                  GError       **error)
{
  gint64 per_channel = abf->n_values / abf->n_channels;
  gint64 at = 0;

  for (gint64 i = 0; i < entries; i++)
    {
      gint64 len = le_i32 (synch, i * 8 + 4);
      ImpSweep sw;

      if (len <= 0 || len % abf->n_channels != 0)
        {
          abf_set_malformed (error, "event %" G_GINT64_FORMAT " has "
                             "length %" G_GINT64_FORMAT, i, len);
          return FALSE;
        }
      sw.start_sample = at;
      sw.n_samples = len / abf->n_channels;
      sw.start_s = le_i32 (synch, i * 8) * unit_us * 1e-6;
      g_array_append_val (abf->sweeps, sw);
      at += sw.n_samples;
    }
  if (at != per_channel)
    {
      abf_set_malformed (error, "the events cover %" G_GINT64_FORMAT
                         " samples per channel but the data holds %"
                         G_GINT64_FORMAT, at, per_channel);
      return FALSE;
    }
  return TRUE;
}

/* The number of episodes: the header's, or, when that does not fit the
 * data (zero, negative, or another total), as many whole episodes as the
 * data hold, said in abf->repair. libbiosig trusts the header's count and
 * is not asked about such a file: it allocates for -1 episodes until
 * the system stops it. */
static gboolean
abf_episodes (AbfInfo  *abf,
              gint64   *episodes,
              gint64    values_per_episode,
              GError  **error)
{
  gint64 per_channel = values_per_episode / MAX (abf->n_channels, 1);

  if (values_per_episode <= 0 || values_per_episode % abf->n_channels != 0
      || abf->n_values % values_per_episode != 0)
    {
      abf_set_malformed (error, "%" G_GINT64_FORMAT " sweeps of %"
                         G_GINT64_FORMAT " samples (all channels) do not "
                         "make the %" G_GINT64_FORMAT " samples recorded",
                         *episodes, values_per_episode, abf->n_values);
      return FALSE;
    }
  if (*episodes > 0 && *episodes * values_per_episode == abf->n_values)
    return TRUE;

  abf->repair = g_strdup_printf (
    "The ABF header gives %" G_GINT64_FORMAT " sweeps, but its data hold "
    "%" G_GINT64_FORMAT " sweeps of %" G_GINT64_FORMAT " samples; read "
    "as %" G_GINT64_FORMAT " sweeps", *episodes,
    abf->n_values / values_per_episode, per_channel,
    abf->n_values / values_per_episode);
  *episodes = abf->n_values / values_per_episode;
  return TRUE;
}

/* Sweeps of an ABF file, from the operation mode, the episode count and
 * the synch array (start in time units, length in values of all
 * channels). */
static gboolean
abf_sweeps (AbfInfo  *abf,
            int       fd,
            goffset   synch_offset,
            gint64    synch_entries,
            double    synch_unit_us,
            double    tick_us,
            gint64    episodes,
            gint64    values_per_episode,
            double    episode_interval_s,
            GError  **error)
{
  gint64 per_channel = abf->n_values / abf->n_channels;
  double unit_us = synch_unit_us > 0 ? synch_unit_us : tick_us;
  g_autofree guint8 *synch = NULL;

  abf->sweeps = g_array_new (FALSE, FALSE, sizeof (ImpSweep));

  if (abf->n_values % abf->n_channels != 0)
    {
      abf_set_malformed (error, "%" G_GINT64_FORMAT " samples do not divide "
                         "into %u channels", abf->n_values, abf->n_channels);
      return FALSE;
    }
  if (abf->op_mode == 1 && synch_entries > 0
      && synch_entries <= abf->n_values / abf->n_channels)
    {
      synch = abf_read_synch (fd, synch_offset, synch_entries, error);
      return synch != NULL
             && abf_event_sweeps (abf, synch, synch_entries, unit_us, error);
    }
  if (abf->op_mode == 3 || abf->op_mode == 1)
    {
      ImpSweep sw = { 0, per_channel, 0.0 };

      g_array_append_val (abf->sweeps, sw);
      return TRUE;
    }

  if (!abf_episodes (abf, &episodes, values_per_episode, error))
    return FALSE;
  if (synch_entries == episodes)
    {
      synch = abf_read_synch (fd, synch_offset, synch_entries, error);
      if (synch == NULL)
        return FALSE;
    }
  for (gint64 i = 0; i < episodes; i++)
    {
      ImpSweep sw;

      sw.start_sample = i * (values_per_episode / abf->n_channels);
      sw.n_samples = values_per_episode / abf->n_channels;
      if (synch != NULL)
        sw.start_s = le_i32 (synch, i * 8) * unit_us * 1e-6;
      else if (episode_interval_s > 0)
        sw.start_s = i * episode_interval_s;
      else
        sw.start_s = sw.start_sample / abf->rate;
      g_array_append_val (abf->sweeps, sw);
    }

  return TRUE;
}

/* Where the samples start and how many there are, against the file's
 * size; @header_bytes is where the header ends. */
static gboolean
abf_check_size (AbfInfo  *abf,
                goffset   file_size,
                goffset   header_bytes,
                GError  **error)
{
  int bytes = abf->is_float ? 4 : 2;
  goffset available = file_size - abf->data_offset;

  if (abf->data_offset < 0)
    {
      abf_set_malformed (error, "its data section pointer is negative "
                         "(block %" G_GINT64_FORMAT ")",
                         (gint64) (abf->data_offset / ABF_BLOCK));
      return FALSE;
    }
  if (abf->data_offset < header_bytes)
    {
      abf_set_malformed (error, "its data section starts at byte %"
                         G_GINT64_FORMAT ", inside the %" G_GINT64_FORMAT
                         "-byte header", (gint64) abf->data_offset,
                         (gint64) header_bytes);
      return FALSE;
    }
  if (abf->n_values <= 0)
    {
      abf_set_malformed (error, "it gives %" G_GINT64_FORMAT " samples",
                         abf->n_values);
      return FALSE;
    }
  if (available < abf->n_values * bytes)
    {
      g_set_error (error, IMP_RECORDING_ERROR, IMP_RECORDING_ERROR_MALFORMED,
                   "the ABF header promises %" G_GINT64_FORMAT " samples "
                   "but the file holds only %" G_GINT64_FORMAT "; it is "
                   "truncated", abf->n_values,
                   MAX (available, 0) / bytes);
      return FALSE;
    }
  return TRUE;
}

/* Checks shared by ABF 1 and 2: the operation mode and the sampling
 * interval (µs). */
static gboolean
abf_check_mode (AbfInfo  *abf,
                double    interval,
                GError  **error)
{
  if (abf->op_mode < 1 || abf->op_mode > 5)
    {
      abf_set_malformed (error, "its operation mode (nOperationMode) is "
                         "%d; it must be 1 to 5", abf->op_mode);
      return FALSE;
    }
  if (!isfinite (interval) || interval <= 0.0)
    {
      g_set_error (error, IMP_RECORDING_ERROR, IMP_RECORDING_ERROR_NO_RATE,
                   "the ABF header gives a sample interval of %g µs; it "
                   "must be a positive, finite time", interval);
      return FALSE;
    }
  return TRUE;
}

/* Gain and offset of data column @i, which samples physical input @p.
 * Files before ABF 1.6 have no per-input telegraph arrays: their one
 * telegraphed ("autosampled") input is named by _nAutosampleADCNum, and
 * Axon's library moves its gain into the arrays when it reads them. */
static void
abf1_scale (AbfInfo      *abf,
            const guint8 *h,
            int           i,
            int           p,
            gboolean      extended,
            double        range,
            gint32        resolution)
{
  gboolean conditioned = le_i16 (h, 1410) != 0;     /* nSignalType */
  double telegraph = 1.0;

  g_assert (i >= 0 && i < ABF_MAX_CHANNELS);
  g_assert (p >= 0 && p < ABF_MAX_CHANNELS);

  if (extended)
    {
      if (le_i16 (h, 4512 + 2 * p) != 0)            /* nTelegraphEnable */
        telegraph = le_f32 (h, 4576 + 4 * p);       /* fTelegraphAdditGain */
    }
  else if (abf->version < 1.6f && le_i16 (h, 262) != 0
           && le_i16 (h, 264) == p)
    {
      telegraph = le_f32 (h, 268);                  /* _fAutosampleAdditGain */
    }

  abf->gain[i] = abf_gain (range, resolution,
                           le_f32 (h, 922 + 4 * p),
                           conditioned ? le_f32 (h, 1050 + 4 * p) : 1.0,
                           le_f32 (h, 730 + 4 * p), telegraph);
  abf->offset[i] = le_f32 (h, 986 + 4 * p)
                   - (conditioned ? le_f32 (h, 1114 + 4 * p) : 0.0);
}

static AbfInfo *
abf1_parse (int       fd,
            goffset   file_size,
            GError  **error)
{
  g_autoptr(AbfInfo) abf = g_new0 (AbfInfo, 1);
  guint8 h[ABF1_HEADER_FULL] = { 0 };
  gsize hlen = MIN (file_size, ABF1_HEADER_FULL);
  gboolean extended;
  double interval, second_interval, range;
  gint32 resolution;
  int n, data_format;

  if (file_size < ABF1_HEADER_MIN || !read_exact (fd, 0, h, hlen))
    {
      g_set_error_literal (error, IMP_RECORDING_ERROR,
                           IMP_RECORDING_ERROR_MALFORMED,
                           "the file is too short for an ABF header; it is "
                           "truncated");
      return NULL;
    }
  abf->major = 1;
  abf->version = le_f32 (h, 4);
  abf->op_mode = le_i16 (h, 8);
  abf->n_values = le_i32 (h, 10);
  abf->data_offset = (goffset) le_i32 (h, 40) * ABF_BLOCK;
  data_format = le_i16 (h, 100);
  abf->is_float = data_format == 1;
  n = le_i16 (h, 120);
  interval = le_f32 (h, 122);
  second_interval = le_f32 (h, 126);
  range = le_f32 (h, 244);
  resolution = le_i32 (h, 252);
  extended = abf->version >= 1.6f && hlen >= ABF1_HEADER_FULL;

  if (!isfinite (abf->version) || abf->version < 0.5 || abf->version >= 2.0)
    {
      abf_set_malformed (error, "it gives file version %g, which is not an "
                         "ABF 1 version", abf->version);
      return NULL;
    }
  if (data_format != 0 && data_format != 1)
    {
      abf_set_malformed (error, "its sample format (nDataFormat) is %d; it "
                         "must be 0 (16-bit integers) or 1 (floats)",
                         data_format);
      return NULL;
    }
  if (!abf_check_mode (abf, interval, error))
    return NULL;
  if (n < 1 || n > ABF_MAX_CHANNELS)
    {
      abf_set_malformed (error, "it claims %d channels (at most %d)", n,
                         ABF_MAX_CHANNELS);
      return NULL;
    }
  abf->n_channels = n;
  if (second_interval != 0 && second_interval != interval)
    {
      g_set_error_literal (error, IMP_RECORDING_ERROR,
                           IMP_RECORDING_ERROR_UNSUPPORTED,
                           "the ABF file switches sampling rate within a "
                           "sweep (split clock)");
      return NULL;
    }
  /* fADCSampleInterval is the time between two samples of any channel. */
  abf->rate = 1e6 / (interval * n);

  /* Data column i holds physical input nADCSamplingSeq[i]; names, units
   * and scale factors are stored by physical input. */
  for (int i = 0; i < n; i++)
    {
      int p = le_i16 (h, 410 + 2 * i);

      if (p < 0 || p >= ABF_MAX_CHANNELS)
        {
          abf_set_malformed (error, "channel %d samples input %d", i, p);
          return NULL;
        }
      abf->labels[i] = fixed_string (h, 442 + 10 * p, 10);
      abf->units[i] = fixed_string (h, 602 + 8 * p, 8);
      if (!abf->is_float)
        abf1_scale (abf, h, i, p, extended, range, resolution);
      else
        abf->gain[i] = 1.0;
    }

  if (!abf_check_size (abf, file_size,
                       extended ? ABF1_HEADER_FULL : ABF1_HEADER_MIN, error))
    return NULL;
  if (!abf_sweeps (abf, fd, (goffset) le_i32 (h, 92) * ABF_BLOCK,
                   le_i32 (h, 96), le_f32 (h, 130), interval,
                   le_i32 (h, 16), le_i32 (h, 138), le_f32 (h, 178), error))
    return NULL;

  return g_steal_pointer (&abf);
}

typedef struct
{
  gint64 block;
  gint64 bytes;
  gint64 entries;
} AbfSection;

static AbfSection
abf2_section (const guint8 *h,
              int           index)
{
  AbfSection s;

  s.block = (guint32) le_i32 (h, 76 + 16 * index);
  s.bytes = (guint32) le_i32 (h, 80 + 16 * index);
  s.entries = le_i64 (h, 84 + 16 * index);
  return s;
}

enum
{
  ABF2_PROTOCOL = 0,
  ABF2_ADC = 1,
  ABF2_STRINGS = 9,
  ABF2_DATA = 10,
  ABF2_SYNCH = 15,
};

static AbfInfo *
abf2_parse (int       fd,
            goffset   file_size,
            GError  **error)
{
  g_autoptr(AbfInfo) abf = g_new0 (AbfInfo, 1);
  g_autofree guint8 *proto = NULL;
  g_autofree guint8 *adc = NULL;
  g_autofree guint8 *strings = NULL;
  g_autoptr(GPtrArray) string_list = g_ptr_array_new ();
  guint8 h[ABF_BLOCK];
  AbfSection s_proto, s_adc, s_str, s_data, s_synch;
  double interval, range;
  gint32 resolution;
  gboolean conditioned;

  if (file_size < ABF_BLOCK || !read_exact (fd, 0, h, ABF_BLOCK))
    {
      g_set_error_literal (error, IMP_RECORDING_ERROR,
                           IMP_RECORDING_ERROR_MALFORMED,
                           "the file is too short for an ABF header; it is "
                           "truncated");
      return NULL;
    }
  abf->major = 2;
  abf->version = h[7] + h[6] / 10.0 + h[5] / 100.0 + h[4] / 1000.0;
  s_proto = abf2_section (h, ABF2_PROTOCOL);
  s_adc = abf2_section (h, ABF2_ADC);
  s_str = abf2_section (h, ABF2_STRINGS);
  s_data = abf2_section (h, ABF2_DATA);
  s_synch = abf2_section (h, ABF2_SYNCH);

  if (h[7] != 2)
    {
      abf_set_malformed (error, "it gives file version %d.%d%d%d, which is "
                         "not an ABF 2 version", h[7], h[6], h[5], h[4]);
      return NULL;
    }
  if (le_i16 (h, 30) != 0 && le_i16 (h, 30) != 1)
    {
      abf_set_malformed (error, "its sample format (nDataFormat) is %d; it "
                         "must be 0 (16-bit integers) or 1 (floats)",
                         le_i16 (h, 30));
      return NULL;
    }
  if (s_proto.bytes < 122 || s_adc.bytes < 82 || s_adc.entries < 1
      || s_proto.bytes > ABF2_MAX_SECTION || s_adc.bytes > ABF2_MAX_SECTION
      || s_adc.entries > ABF_MAX_CHANNELS
      || (s_data.bytes != 2 && s_data.bytes != 4))
    {
      abf_set_malformed (error, "its section table is damaged");
      return NULL;
    }
  proto = g_malloc (s_proto.bytes);
  adc = g_malloc (s_adc.bytes * s_adc.entries);
  if (!read_exact (fd, s_proto.block * ABF_BLOCK, proto, s_proto.bytes)
      || !read_exact (fd, s_adc.block * ABF_BLOCK, adc,
                      s_adc.bytes * s_adc.entries))
    {
      g_set_error_literal (error, IMP_RECORDING_ERROR,
                           IMP_RECORDING_ERROR_MALFORMED,
                           "the ABF header sections lie beyond the end of "
                           "the file; it is truncated");
      return NULL;
    }

  /* The strings section: a 44-byte header ("SSCH", counts), then
   * NUL-separated strings that the ADC entries refer to by 1-based index. */
  if (s_str.bytes > 44 && s_str.bytes < 1024 * 1024)
    {
      strings = g_malloc0 (s_str.bytes + 1);
      if (read_exact (fd, s_str.block * ABF_BLOCK, strings, s_str.bytes)
          && memcmp (strings, "SSCH", 4) == 0)
        {
          const char *p = (const char *) strings + 44;
          const char *end = (const char *) strings + s_str.bytes;

          while (p < end)
            {
              g_ptr_array_add (string_list, (gpointer) p);
              p += strlen (p) + 1;
            }
        }
    }

  abf->op_mode = le_i16 (proto, 0);
  interval = le_f32 (proto, 2);
  range = le_f32 (proto, 110);
  resolution = le_i32 (proto, 118);
  /* nSignalType: whether a signal conditioner was in the path. */
  conditioned = s_proto.bytes >= 140 && le_i16 (proto, 138) != 0;
  if (!abf_check_mode (abf, interval, error))
    return NULL;
  abf->n_channels = s_adc.entries;
  /* fADCSequenceInterval is the time between two samples of a channel. */
  abf->rate = 1e6 / interval;
  abf->is_float = s_data.bytes == 4;
  abf->data_offset = s_data.block * ABF_BLOCK;
  abf->n_values = s_data.entries;

  for (guint i = 0; i < abf->n_channels; i++)
    {
      const guint8 *e = adc + i * s_adc.bytes;
      gint32 name_index = le_i32 (e, 74);
      gint32 unit_index = le_i32 (e, 78);
      double telegraph = le_i16 (e, 2) != 0 ? le_f32 (e, 6) : 1.0;

      abf->labels[i] = g_strstrip (_imp_text_from_legacy (
        name_index >= 1 && (guint) name_index <= string_list->len
        ? (const char *) string_list->pdata[name_index - 1] : "", -1));
      abf->units[i] = g_strstrip (_imp_text_from_legacy (
        unit_index >= 1 && (guint) unit_index <= string_list->len
        ? (const char *) string_list->pdata[unit_index - 1] : "", -1));
      abf->gain[i] = abf->is_float
        ? 1.0
        : abf_gain (range, resolution, le_f32 (e, 40),
                    conditioned ? le_f32 (e, 48) : 1.0, le_f32 (e, 28),
                    telegraph);
      abf->offset[i] = abf->is_float
        ? 0.0
        : le_f32 (e, 44) - (conditioned ? le_f32 (e, 52) : 0.0);
    }

  if (!abf_check_size (abf, file_size, ABF_BLOCK, error))
    return NULL;
  if (!abf_sweeps (abf, fd, s_synch.block * ABF_BLOCK,
                   s_synch.bytes == 8 ? s_synch.entries : 0,
                   le_f32 (proto, 14), interval / abf->n_channels,
                   (guint32) le_i32 (h, 12), le_i32 (proto, 22),
                   le_f32 (proto, 62), error))
    return NULL;

  return g_steal_pointer (&abf);
}

/* NULL without error when the file is not ABF. */
static AbfInfo *
abf_parse (const char  *path,
           GError     **error)
{
  g_autoptr(AbfInfo) abf = NULL;
  guint8 magic[4];
  struct stat st;
  int fd;

  fd = g_open (path, O_RDONLY, 0);
  if (fd < 0)
    return NULL;
  if (fstat (fd, &st) != 0 || !read_exact (fd, 0, magic, 4))
    {
      close (fd);
      return NULL;
    }
  if (memcmp (magic, "ABF ", 4) == 0)
    abf = abf1_parse (fd, st.st_size, error);
  else if (memcmp (magic, "ABF2", 4) == 0)
    abf = abf2_parse (fd, st.st_size, error);
  close (fd);

  return g_steal_pointer (&abf);
}

/* Guarding libbiosig */

typedef struct
{
  const char *path;
  gboolean    header_only;
} ProbeArgs;

/* Runs in the probe child: opens the file with libbiosig and, unless
 * header_only, reads its samples the way biosig_read() will. */
static gboolean
probe_biosig_cb (gpointer   data,
                 GError   **error)
{
  ProbeArgs *args = data;
  HDRTYPE *hdr;

  hdr = sopen (args->path, "r", constructHDR (0, 0));
  if (hdr == NULL || hdr->AS.B4C_ERRNUM != B4C_NO_ERROR
      || hdr->FILE.OPEN == 0)
    return TRUE;   /* the open in this process will say why */
  hdr->FLAG.UCAL = 1;
  if (!args->header_only && hdr->NRec > 0 && hdr->SPR > 0)
    {
      gint64 n_recs = hdr->NRec;
      gint64 block = MAX (1, READ_BLOCK_VALUES / (gint64) hdr->SPR);

      if ((guint64) n_recs * hdr->SPR * hdr->NS * sizeof (float)
          <= CACHE_LIMIT_BYTES)
        {
          sread (NULL, 0, n_recs, hdr);
        }
      else
        {
          sread (NULL, 0, MIN (block, n_recs), hdr);
          sread (NULL, n_recs - MIN (block, n_recs), MIN (block, n_recs),
                 hdr);
        }
    }
  sclose (hdr);
  return TRUE;
}

/* Opens the file with libbiosig in a child process (see imp-probe.c)
 * and, unless @header_only, reads its samples. Returns FALSE with @error
 * set if libbiosig crashed, hung, ran out of memory or tried to end the
 * program. The caller holds biosig_lock. */
static gboolean
probe_in_child (const char  *path,
                gboolean     header_only,
                GError     **error)
{
  ProbeArgs args = { path, header_only };
  ImpProbeReport report;
  gboolean ok = FALSE;

  _imp_probe_run (probe_biosig_cb, &args, NULL, PROBE_TIMEOUT_S,
                  IMP_PROBE_MEMORY_BYTES, &report);
  switch (report.outcome)
    {
    case IMP_PROBE_OK:
    case IMP_PROBE_DECLINED:
    case IMP_PROBE_FAILED:
      ok = TRUE;
      break;
    case IMP_PROBE_UNAVAILABLE:
      /* No probe possible; open in this process. */
      ok = TRUE;
      break;
    case IMP_PROBE_TIMEOUT:
      g_set_error (error, IMP_RECORDING_ERROR, IMP_RECORDING_ERROR_MALFORMED,
                   "libbiosig did not finish reading the file within %d s; "
                   "it is probably damaged", PROBE_TIMEOUT_S);
      break;
    case IMP_PROBE_CRASHED:
      g_set_error (error, IMP_RECORDING_ERROR, IMP_RECORDING_ERROR_MALFORMED,
                   "libbiosig crashed reading the file (%s), or needed more "
                   "than %" G_GUINT64_FORMAT " GB of memory; it is probably "
                   "damaged",
                   report.signal > 0 ? g_strsignal (report.signal)
                                     : "abnormal exit",
                   IMP_PROBE_MEMORY_BYTES >> 30);
      break;
    case IMP_PROBE_EXITED:
    default:
      g_set_error_literal (error, IMP_RECORDING_ERROR,
                           IMP_RECORDING_ERROR_MALFORMED,
                           "libbiosig gave up on the file and tried to end "
                           "the program; it is probably damaged");
      break;
    }
  _imp_probe_report_clear (&report);

  return ok;
}

/* Runs sopen() with stdout and stderr sent to a temporary file, whose text
 * is returned in @output. The descriptors are process-wide, so anything
 * another thread prints meanwhile is captured too. */
static HDRTYPE *
sopen_quietly (const char  *path,
               char       **output)
{
  HDRTYPE *hdr;
  FILE *capture = tmpfile ();
  int saved_out = -1, saved_err = -1;

  *output = NULL;
  fflush (stdout);
  fflush (stderr);
  if (capture != NULL)
    {
      saved_out = dup (STDOUT_FILENO);
      saved_err = dup (STDERR_FILENO);
      dup2 (fileno (capture), STDOUT_FILENO);
      dup2 (fileno (capture), STDERR_FILENO);
    }

  hdr = sopen (path, "r", constructHDR (0, 0));

  fflush (stdout);
  fflush (stderr);
  if (capture != NULL)
    {
      char buf[4096];
      size_t got;

      if (saved_out >= 0)
        {
          dup2 (saved_out, STDOUT_FILENO);
          close (saved_out);
        }
      if (saved_err >= 0)
        {
          dup2 (saved_err, STDERR_FILENO);
          close (saved_err);
        }
      rewind (capture);
      got = fread (buf, 1, sizeof buf - 1, capture);
      buf[got] = '\0';
      fclose (capture);
      *output = g_strstrip (g_strdup (buf));
      if (**output == '\0')
        g_clear_pointer (output, g_free);
    }

  return hdr;
}

/* The back end */

typedef struct
{
  HDRTYPE  *hdr;
  AbfInfo  *abf;            /* set when samples come from the ABF itself */
  int       fd;             /* the ABF file, for direct reads */
  guint    *column;         /* recording channel -> libbiosig channel */
  float    *cache;          /* all samples, channel-major, or NULL */
  gboolean  cache_tried;
} BiosigData;

static void
biosig_data_free (gpointer data)
{
  BiosigData *bd = data;

  if (bd->hdr != NULL)
    {
      g_rec_mutex_lock (&biosig_lock);
      sclose (bd->hdr);
      destructHDR (bd->hdr);
      g_rec_mutex_unlock (&biosig_lock);
    }
  if (bd->fd >= 0)
    close (bd->fd);
  abf_info_free (bd->abf);
  g_free (bd->column);
  g_free (bd->cache);
  g_free (bd);
}

static gboolean
read_abf_direct (ImpRecording  *self,
                 BiosigData    *bd,
                 guint          first_channel,
                 guint          n_channels,
                 gint64         first_sample,
                 gint64         n_samples,
                 float         *out,
                 GError       **error)
{
  guint nch = bd->abf->n_channels;
  int bytes = bd->abf->is_float ? 4 : 2;
  gint64 block = MAX (1, READ_BLOCK_VALUES / nch);
  g_autofree guint8 *buf = NULL;
  gint64 done = 0;

  block = MIN (block, n_samples);
  buf = g_malloc ((gsize) block * nch * bytes);
  while (done < n_samples)
    {
      gint64 take = MIN (block, n_samples - done);
      goffset at = bd->abf->data_offset
                   + (first_sample + done) * (goffset) nch * bytes;

      if (!read_exact (bd->fd, at, buf, (gsize) take * nch * bytes))
        {
          g_set_error (error, IMP_RECORDING_ERROR, IMP_RECORDING_ERROR_IO,
                       "Cannot read samples %" G_GINT64_FORMAT " to %"
                       G_GINT64_FORMAT ": the file ends early",
                       first_sample + done, first_sample + done + take - 1);
          return FALSE;
        }
      for (guint c = 0; c < n_channels; c++)
        {
          const ImpChannel *ch = &g_array_index (self->channels, ImpChannel,
                                                 first_channel + c);
          float *dst = out + (gsize) c * n_samples + done;
          gsize col = first_channel + c;

          for (gint64 s = 0; s < take; s++)
            {
              gsize at_value = (gsize) s * nch + col;
              double raw = bd->abf->is_float
                ? le_f32 (buf, at_value * 4) : le_i16 (buf, at_value * 2);

              dst[s] = (float) (raw * ch->gain + ch->offset);
            }
        }
      done += take;
    }

  return TRUE;
}

/* Copies rows [row0, row0 + n) of libbiosig's last data block, in raw
 * counts, into @out scaled to each channel's unit. */
static void
copy_block (ImpRecording *self,
            BiosigData   *bd,
            guint         first_channel,
            guint         n_channels,
            gsize         row0,
            gint64        n,
            float        *out,
            gint64        out_stride,
            gint64        out_at)
{
  HDRTYPE *hdr = bd->hdr;
  gsize rows = hdr->data.size[0];

  for (guint c = 0; c < n_channels; c++)
    {
      const ImpChannel *ch = &g_array_index (self->channels, ImpChannel,
                                             first_channel + c);
      const biosig_data_type *src = hdr->data.block
                                    + bd->column[first_channel + c] * rows
                                    + row0;
      float *dst = out + (gsize) c * out_stride + out_at;

      for (gint64 s = 0; s < n; s++)
        dst[s] = (float) (src[s] * ch->gain + ch->offset);
    }
}

static gboolean
read_biosig_records (ImpRecording  *self,
                     BiosigData    *bd,
                     guint          first_channel,
                     guint          n_channels,
                     gint64         first_sample,
                     gint64         n_samples,
                     float         *out,
                     gint64         out_stride,
                     GError       **error)
{
  HDRTYPE *hdr = bd->hdr;
  gint64 spr = hdr->SPR;
  gint64 max_records = MAX (1, READ_BLOCK_VALUES / spr);
  gint64 done = 0;

  while (done < n_samples)
    {
      gint64 sample = first_sample + done;
      gint64 rec0 = sample / spr;
      gint64 last = (first_sample + n_samples - 1) / spr;
      gint64 n_rec = MIN (last - rec0 + 1, max_records);
      gint64 row0 = sample - rec0 * spr;
      gint64 take;
      size_t got;

      got = sread (NULL, rec0, n_rec, hdr);
      if ((gint64) got != n_rec || hdr->data.block == NULL
          || (gint64) hdr->data.size[0] < n_rec * spr
          || hdr->AS.B4C_ERRNUM != B4C_NO_ERROR)
        {
          g_set_error (error, IMP_RECORDING_ERROR, IMP_RECORDING_ERROR_IO,
                       "libbiosig read %zu of %" G_GINT64_FORMAT " records "
                       "from record %" G_GINT64_FORMAT "%s%s", got, n_rec,
                       rec0, hdr->AS.B4C_ERRMSG != NULL ? ": " : "",
                       hdr->AS.B4C_ERRMSG != NULL ? hdr->AS.B4C_ERRMSG : "");
          hdr->AS.B4C_ERRNUM = B4C_NO_ERROR;
          return FALSE;
        }
      take = MIN (n_rec * spr - row0, n_samples - done);
      copy_block (self, bd, first_channel, n_channels, row0, take,
                  out, out_stride, done);
      done += take;
    }

  return TRUE;
}

static gboolean
biosig_read (ImpRecording  *self,
             guint          first_channel,
             guint          n_channels,
             gint64         first_sample,
             gint64         n_samples,
             float         *out,
             GError       **error)
{
  BiosigData *bd = self->backend_data;
  guint nch = self->channels->len;
  gboolean ok;

  if (bd->abf != NULL)
    return read_abf_direct (self, bd, first_channel, n_channels,
                            first_sample, n_samples, out, error);

  /* Small files (most patch-clamp files, and HEKA files that are one
   * record) are read once and kept. */
  if (!bd->cache_tried)
    {
      gsize bytes = (gsize) self->n_samples * nch * sizeof (float);

      bd->cache_tried = TRUE;
      if (bytes <= CACHE_LIMIT_BYTES)
        {
          g_autofree float *cache = g_try_malloc (bytes);
          g_autoptr(GError) local_error = NULL;

          if (cache != NULL)
            {
              g_rec_mutex_lock (&biosig_lock);
              ok = read_biosig_records (self, bd, 0, nch, 0, self->n_samples,
                                        cache, self->n_samples,
                                        &local_error);
              g_rec_mutex_unlock (&biosig_lock);
              if (!ok)
                {
                  g_propagate_error (error, g_steal_pointer (&local_error));
                  bd->cache_tried = FALSE;
                  return FALSE;
                }
              bd->cache = g_steal_pointer (&cache);
            }
        }
    }
  if (bd->cache != NULL)
    {
      for (guint c = 0; c < n_channels; c++)
        memcpy (out + (gsize) c * n_samples,
                bd->cache + (gsize) (first_channel + c) * self->n_samples
                + first_sample,
                (gsize) n_samples * sizeof (float));
      return TRUE;
    }

  g_rec_mutex_lock (&biosig_lock);
  ok = read_biosig_records (self, bd, first_channel, n_channels,
                            first_sample, n_samples, out, n_samples, error);
  g_rec_mutex_unlock (&biosig_lock);

  return ok;
}

static const ImpRecordingBackend biosig_backend = {
  .format = "libbiosig",
  .read = biosig_read,
  .close = biosig_data_free,
};

static const char *
biosig_unit (const CHANNEL_TYPE *ch)
{
  const char *unit = PhysDim3 (ch->PhysDimCode);

  /* libbiosig names codes it cannot place "?" or leaves them NULL. */
  if (unit == NULL || g_str_equal (unit, "?") || g_str_equal (unit, "(null)"))
    return "";
  return unit;
}

static int
compare_gint64 (gconstpointer a,
                gconstpointer b)
{
  gint64 x = *(const gint64 *) a;
  gint64 y = *(const gint64 *) b;

  return x < y ? -1 : x > y;
}

/* Sweeps from the segment events (type 0x7ffe) libbiosig puts where a new
 * sweep begins, with their time stamps when the format has them. */
static GArray *
biosig_sweeps (HDRTYPE *hdr,
               gint64   n_samples,
               double   rate)
{
  g_autoptr(GArray) starts = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr(GHashTable) times = g_hash_table_new_full (g_int64_hash,
                                                       g_int64_equal,
                                                       g_free, g_free);
  GArray *sweeps = g_array_new (FALSE, FALSE, sizeof (ImpSweep));
  double scale = hdr->EVENT.SampleRate > 0 ? rate / hdr->EVENT.SampleRate
                                           : 1.0;
  gint64 zero = 0;

  g_array_append_val (starts, zero);
  for (guint32 e = 0; e < hdr->EVENT.N; e++)
    {
      gint64 pos = llround (hdr->EVENT.POS[e] * scale);

      if (hdr->EVENT.TimeStamp != NULL && hdr->EVENT.TimeStamp[e] != 0
          && !g_hash_table_contains (times, &pos))
        {
          double t = (double) (gint64) (hdr->EVENT.TimeStamp[e] - hdr->T0)
                     * 86400.0 / 4294967296.0;

          g_hash_table_insert (times, g_memdup2 (&pos, sizeof pos),
                               g_memdup2 (&t, sizeof t));
        }
      if (hdr->EVENT.TYP[e] == 0x7ffe && pos > 0 && pos < n_samples)
        g_array_append_val (starts, pos);
    }
  g_array_sort (starts, compare_gint64);

  for (guint i = 0; i < starts->len; i++)
    {
      gint64 s0 = g_array_index (starts, gint64, i);
      gint64 s1 = i + 1 < starts->len ? g_array_index (starts, gint64, i + 1)
                                      : n_samples;
      const double *t = g_hash_table_lookup (times, &s0);
      ImpSweep sw;

      if (s1 == s0)
        continue;
      sw.start_sample = s0;
      sw.n_samples = s1 - s0;
      sw.start_s = t != NULL ? *t : s0 / rate;
      g_array_append_val (sweeps, sw);
    }

  return sweeps;
}

static gboolean
near (double a,
      double b)
{
  return fabs (a - b) <= 1e-4 * MAX (fabs (a), fabs (b));
}

static char *
describe_sweeps (GArray     *sweeps,
                 double      rate,
                 const char *kind)
{
  const ImpSweep *first = &g_array_index (sweeps, ImpSweep, 0);
  gboolean equal = TRUE;

  for (guint i = 1; i < sweeps->len; i++)
    equal = equal && (g_array_index (sweeps, ImpSweep, i).n_samples
                      == first->n_samples);
  if (equal)
    return g_strdup_printf ("%u %ssweep%s of %g s", sweeps->len, kind,
                            sweeps->len == 1 ? "" : "s",
                            first->n_samples / rate);
  return g_strdup_printf ("%u %ssweeps", sweeps->len, kind);
}

/* "uV" and "µV" are the same unit. */
static gboolean
same_unit (const char *a,
           const char *b)
{
  const char *ca = NULL;
  const char *cb = NULL;
  double fa = _imp_unit_normalise (a, &ca);
  double fb = _imp_unit_normalise (b, &cb);

  return g_strcmp0 (ca, cb) == 0 && near (fa, fb);
}

/* Compares what libbiosig read with the ABF header. Returns TRUE if they
 * agree; otherwise adds what differs, and that the header is used, to the
 * recording's warning. */
static gboolean
abf_agrees (ImpRecording *rec,
            HDRTYPE      *hdr,
            AbfInfo      *abf,
            GArray       *on_channels,
            GArray       *sweeps)
{
  gboolean agree = TRUE;
  gint64 n_samples = (gint64) hdr->NRec * hdr->SPR;

  if (on_channels->len != abf->n_channels
      || n_samples * abf->n_channels != abf->n_values
      || !near (hdr->SampleRate, abf->rate))
    {
      g_autofree char *msg = g_strdup_printf (
        "ABF header says %u channels of %" G_GINT64_FORMAT " samples at "
        "%g Hz; libbiosig read %u of %" G_GINT64_FORMAT " at %g Hz; using "
        "the header", abf->n_channels, abf->n_values / abf->n_channels,
        abf->rate, on_channels->len, n_samples, hdr->SampleRate);

      _imp_recording_add_warning (rec, msg);
      return FALSE;
    }

  {
    gboolean same = sweeps->len == abf->sweeps->len;

    for (guint i = 0; same && i < sweeps->len; i++)
      same = g_array_index (sweeps, ImpSweep, i).n_samples
             == g_array_index (abf->sweeps, ImpSweep, i).n_samples;
    if (!same)
      {
        g_autofree char *header =
          describe_sweeps (abf->sweeps, abf->rate,
                           abf->op_mode == 5 ? "episodic " : "");
        g_autofree char *lib = describe_sweeps (sweeps, abf->rate, "");
        g_autofree char *msg = g_strdup_printf (
          "ABF header says %s; libbiosig read %s; using the header",
          header, lib);

        _imp_recording_add_warning (rec, msg);
        agree = FALSE;
      }
  }

  for (guint i = 0; i < abf->n_channels; i++)
    {
      const CHANNEL_TYPE *ch = &hdr->CHANNEL[g_array_index (on_channels,
                                                            guint, i)];
      g_autofree char *label = g_strstrip (_imp_text_from_legacy (
        ch->Label, strnlen (ch->Label, sizeof ch->Label)));
      /* libbiosig 2.5 leaves the unit code of ABF 2 channels
       * uninitialised: reading it would give a random unit. */
      const char *unit = abf->major == 2 ? "" : biosig_unit (ch);

      if (g_strcmp0 (label, abf->labels[i]) != 0)
        {
          g_autofree char *theirs = *label != '\0'
            ? g_strdup_printf ("called it “%s”", label)
            : g_strdup ("gave no name");
          g_autofree char *msg = g_strdup_printf (
            "ABF header names channel %u “%s”; libbiosig %s; using the "
            "header", i, abf->labels[i], theirs);

          _imp_recording_add_warning (rec, msg);
          agree = FALSE;
        }
      if (!same_unit (unit, abf->units[i]))
        {
          g_autofree char *msg = g_strdup_printf (
            "ABF header gives channel %u (“%s”) in %s; libbiosig gave %s; "
            "using the header", i, abf->labels[i],
            *abf->units[i] != '\0' ? abf->units[i] : "no unit",
            *unit != '\0' ? unit : "no unit");

          _imp_recording_add_warning (rec, msg);
          agree = FALSE;
        }
      else if (!near (ch->Cal, abf->gain[i]) || !near (ch->Off + 1.0,
                                                      abf->offset[i] + 1.0))
        {
          g_autofree char *msg = g_strdup_printf (
            "ABF header scales channel %u (“%s”) by %g %s per count; "
            "libbiosig used %g; using the header", i, abf->labels[i],
            abf->gain[i], abf->units[i], ch->Cal);

          _imp_recording_add_warning (rec, msg);
          agree = FALSE;
        }
    }

  return agree;
}

/* An ABF recording from its own header and data section; @hdr, when
 * libbiosig could open the file, is only compared with it. */
static ImpRecording *
abf_recording (const char  *path,
               AbfInfo     *abf_in,
               HDRTYPE     *hdr,
               const char  *biosig_note,
               GError     **error)
{
  g_autoptr(AbfInfo) abf = abf_in;
  g_autoptr(ImpRecording) rec = NULL;
  g_autofree char *format = NULL;
  BiosigData *bd;

  bd = g_new0 (BiosigData, 1);
  bd->hdr = hdr;
  bd->fd = -1;
  rec = _imp_recording_new (path, &biosig_backend, bd);
  if (abf->repair != NULL)
    _imp_recording_add_warning (rec, abf->repair);
  if (biosig_note != NULL)
    _imp_recording_add_warning (rec, biosig_note);

  if (hdr != NULL)
    {
      g_autoptr(GArray) on = g_array_new (FALSE, FALSE, sizeof (guint));
      g_autoptr(GArray) sweeps = NULL;

      for (guint k = 0; k < hdr->NS; k++)
        if (hdr->CHANNEL[k].OnOff == 1)
          g_array_append_val (on, k);
      sweeps = biosig_sweeps (hdr, (gint64) hdr->NRec * hdr->SPR,
                              hdr->SampleRate);
      abf_agrees (rec, hdr, abf, on, sweeps);
    }

  rec->sample_rate = abf->rate;
  for (guint i = 0; i < abf->n_channels; i++)
    {
      _imp_recording_add_channel (rec, abf->labels[i], abf->units[i],
                                  abf->gain[i], abf->offset[i]);
      _imp_recording_set_raw_max (rec, i, abf->is_float ? 0.0 : 32768.0);
    }
  for (guint i = 0; i < abf->sweeps->len; i++)
    {
      const ImpSweep *sw = &g_array_index (abf->sweeps, ImpSweep, i);

      _imp_recording_add_sweep (rec, sw->n_samples, sw->start_s);
    }
  bd->fd = g_open (path, O_RDONLY, 0);
  if (bd->fd < 0)
    {
      int saved = errno;

      g_set_error (error, IMP_RECORDING_ERROR, IMP_RECORDING_ERROR_IO,
                   "cannot reopen the file: %s", g_strerror (saved));
      return NULL;
    }
  format = g_strdup_printf ("ABF %.2f", abf->version);
  _imp_recording_set_format (rec, format);
  bd->abf = g_steal_pointer (&abf);

  return g_steal_pointer (&rec);
}

/* A damaged header can make libbiosig see more samples than the file
 * has room for (a flipped byte in a HEKA tree adds a channel); it then
 * reads whatever lies elsewhere. Compressed files are exempt. */
static gboolean
biosig_check_size (const char  *path,
                   HDRTYPE     *hdr,
                   GArray      *on,
                   GError     **error)
{
  double bits = 0.0;
  double n_samples = (double) hdr->NRec * hdr->SPR;
  GStatBuf st;

  if (hdr->FILE.COMPRESSION != 0 || g_stat (path, &st) != 0)
    return TRUE;
  for (guint i = 0; i < on->len; i++)
    {
      const CHANNEL_TYPE *ch = &hdr->CHANNEL[g_array_index (on, guint, i)];

      /* The 19 standard sample types; others are left unchecked. */
      if (ch->GDFTYP > 18)
        return TRUE;
      bits += GDFTYP_BITS[ch->GDFTYP];
    }
  if (n_samples * bits / 8.0 <= (double) st.st_size)
    return TRUE;

  g_set_error (error, IMP_RECORDING_ERROR, IMP_RECORDING_ERROR_MALFORMED,
               "libbiosig finds %u channels of %.0f samples in it (%.1f MB), "
               "more than the file's %.1f MB; its header is damaged",
               on->len, n_samples, n_samples * bits / 8.0 / 1e6,
               st.st_size / 1e6);
  return FALSE;
}

static ImpRecording *
biosig_open_locked (const char  *path,
                    AbfInfo     *abf,
                    gboolean     probe_ok,
                    const char  *probe_error,
                    GError     **error)
{
  g_autoptr(ImpRecording) rec = NULL;
  g_autoptr(GArray) on = g_array_new (FALSE, FALSE, sizeof (guint));
  g_autoptr(GArray) sweeps = NULL;
  g_autofree char *output = NULL;
  g_autofree char *said = NULL;
  BiosigData *bd;
  HDRTYPE *hdr = NULL;
  gint64 n_samples;

  if (!probe_ok)
    {
      g_autofree char *note = NULL;

      /* An ABF file can still be read from its header. */
      if (abf == NULL)
        {
          g_set_error_literal (error, IMP_RECORDING_ERROR,
                               IMP_RECORDING_ERROR_MALFORMED, probe_error);
          return NULL;
        }
      note = g_strdup_printf ("%s; read from the ABF header alone",
                              probe_error);
      return abf_recording (path, abf, NULL, note, error);
    }

  hdr = sopen_quietly (path, &output);
  if (output != NULL)
    {
      g_debug ("libbiosig on %s: %s", path, output);
      said = g_strdup_printf ("libbiosig says: %s", output);
    }
  if (hdr == NULL || hdr->AS.B4C_ERRNUM != B4C_NO_ERROR
      || hdr->FILE.OPEN == 0)
    {
      enum B4C_ERROR code = hdr != NULL ? hdr->AS.B4C_ERRNUM
                                        : B4C_UNSPECIFIC_ERROR;
      g_autofree char *msg = g_strdup (hdr != NULL
                                       && hdr->AS.B4C_ERRMSG != NULL
                                       ? hdr->AS.B4C_ERRMSG : "");
      gboolean not_known = hdr != NULL
                           && (code == B4C_FORMAT_UNKNOWN
                               || hdr->TYPE == unknown
                               || hdr->TYPE == noFile);

      if (hdr != NULL)
        {
          sclose (hdr);
          destructHDR (hdr);
        }
      g_strstrip (msg);
      if (abf != NULL)
        {
          g_autofree char *note = g_strdup_printf (
            "libbiosig cannot read it (%s); read from the ABF header alone",
            *msg != '\0' ? msg : "unknown error");

          return abf_recording (path, abf, NULL, note, error);
        }
      if (not_known)
        return NULL;   /* not a format libbiosig knows: not ours */
      g_set_error (error, IMP_RECORDING_ERROR,
                   code == B4C_FORMAT_UNSUPPORTED
                   || code == B4C_DATATYPE_UNSUPPORTED
                   ? IMP_RECORDING_ERROR_UNSUPPORTED
                   : IMP_RECORDING_ERROR_MALFORMED,
                   "libbiosig cannot read it: %s",
                   *msg != '\0' ? msg : "unknown error");
      return NULL;
    }

  if (abf != NULL)
    return abf_recording (path, abf, hdr, said, error);

  bd = g_new0 (BiosigData, 1);
  bd->hdr = hdr;
  bd->fd = -1;
  rec = _imp_recording_new (path, &biosig_backend, bd);
  if (said != NULL)
    _imp_recording_add_warning (rec, said);
  hdr->FLAG.UCAL = 1;
  hdr->FLAG.ROW_BASED_CHANNELS = 0;
  hdr->FLAG.OVERFLOWDETECTION = 0;

  /* Channels sampled at the file's rate; others (rare: sparse or slow
   * auxiliary channels) are switched off. */
  for (guint k = 0; k < hdr->NS; k++)
    {
      CHANNEL_TYPE *ch = &hdr->CHANNEL[k];

      if (ch->OnOff != 1)
        continue;
      if (ch->SPR != hdr->SPR)
        {
          g_autofree char *msg = g_strdup_printf (
            "Channel “%s” is sampled at another rate and is not shown",
            g_strstrip (ch->Label));

          ch->OnOff = 0;
          _imp_recording_add_warning (rec, msg);
          continue;
        }
      g_array_append_val (on, k);
    }
  if (on->len == 0)
    {
      g_set_error_literal (error, IMP_RECORDING_ERROR,
                           IMP_RECORDING_ERROR_MALFORMED,
                           "libbiosig found no channels in it");
      return NULL;
    }

  if (!biosig_check_size (path, hdr, on, error))
    return NULL;

  rec->sample_rate = hdr->SampleRate;
  bd->column = g_new0 (guint, on->len);
  for (guint i = 0; i < on->len; i++)
    {
      CHANNEL_TYPE *ch = &hdr->CHANNEL[g_array_index (on, guint, i)];
      g_autofree char *label = g_strstrip (_imp_text_from_legacy (
        ch->Label, strnlen (ch->Label, sizeof ch->Label)));
      /* The range of 8- and 16-bit samples (GDF types 1 to 4); wider
       * types are judged by their scale alone. */
      static const double type_max[] = { 0.0, 128.0, 255.0, 32768.0,
                                         65535.0 };

      bd->column[i] = i;
      _imp_recording_add_channel (rec, label, biosig_unit (ch),
                                  ch->Cal, ch->Off);
      _imp_recording_set_raw_max (rec, i,
                                  ch->GDFTYP < G_N_ELEMENTS (type_max)
                                  ? type_max[ch->GDFTYP] : 0.0);
    }

  n_samples = (gint64) hdr->NRec * hdr->SPR;
  sweeps = biosig_sweeps (hdr, n_samples, hdr->SampleRate);
  for (guint i = 0; i < sweeps->len; i++)
    {
      const ImpSweep *sw = &g_array_index (sweeps, ImpSweep, i);

      _imp_recording_add_sweep (rec, sw->n_samples, sw->start_s);
    }
  _imp_recording_set_format (rec, hdr->TYPE == HEKA
                                  ? "HEKA PatchMaster"
                                  : GetFileTypeString (hdr->TYPE));

  return g_steal_pointer (&rec);
}

ImpRecording *
_imp_biosig_open (const char  *path,
                  GError     **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autoptr(GError) probe_error = NULL;
  AbfInfo *abf;
  ImpRecording *rec;
  gboolean probe_ok;

  /* HDF5 files are the other back ends' business. */
  if (_imp_h5_is_hdf5 (path))
    return NULL;

  abf = abf_parse (path, &local_error);
  if (local_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }

  /* A header that needed repair would mislead libbiosig, which trusts
   * it: the file is read from the header as repaired. */
  if (abf != NULL && abf->repair != NULL)
    return abf_recording (path, abf, NULL, NULL, error);

  g_rec_mutex_lock (&biosig_lock);
  probe_ok = probe_in_child (path, abf != NULL, &probe_error);
  rec = biosig_open_locked (path, abf, probe_ok,
                            probe_error != NULL ? probe_error->message : NULL,
                            error);
  g_rec_mutex_unlock (&biosig_lock);

  return rec;
}
