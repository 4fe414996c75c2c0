/* test-recording.c
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <math.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "imp-recording-private.h"

static char *tmpdir;

/* A back end whose sample (c, s) is c * 1000 + s counts, and which checks
 * that the recording's lock is held while it reads. */

typedef struct
{
  int      closed;
  gboolean lock_was_held;
} FakeData;

static FakeData fake_data;

static gboolean
fake_read (ImpRecording  *self,
           guint          first_channel,
           guint          n_channels,
           gint64         first_sample,
           gint64         n_samples,
           float         *out,
           GError       **error)
{
  FakeData *fd = self->backend_data;

  fd->lock_was_held = !g_mutex_trylock (&self->lock);
  if (!fd->lock_was_held)
    g_mutex_unlock (&self->lock);

  for (guint c = 0; c < n_channels; c++)
    {
      const ImpChannel *ch = &g_array_index (self->channels, ImpChannel,
                                             first_channel + c);

      for (gint64 s = 0; s < n_samples; s++)
        out[c * n_samples + s] =
          (float) (((first_channel + c) * 1000.0 + first_sample + s)
                   * ch->gain + ch->offset);
    }
  return TRUE;
}

static void
fake_close (gpointer data)
{
  FakeData *fd = data;

  fd->closed++;
}

static const ImpRecordingBackend fake_backend = {
  .format = "fake",
  .read = fake_read,
  .close = fake_close,
};

static ImpRecording *
fake_new (void)
{
  ImpRecording *rec;

  fake_data.closed = 0;
  fake_data.lock_was_held = FALSE;
  rec = _imp_recording_new ("fake.dat", &fake_backend, &fake_data);
  rec->sample_rate = 1000.0;
  /* Written in V and nA, shown in mV and pA. */
  _imp_recording_add_channel (rec, "Vm", "V", 1.0e-3, 0.01);
  _imp_recording_add_channel (rec, NULL, "nA", 2.0, 0.0);
  _imp_recording_add_channel (rec, "T", "degC", 0.5, 20.0);
  return rec;
}

static void
test_channels (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ImpRecording) rec = fake_new ();
  const ImpChannel *ch;

  _imp_recording_add_sweep (rec, 500, 0.0);
  _imp_recording_add_sweep (rec, 300, 2.0);
  g_assert_true (_imp_recording_validate (rec, &error));
  g_assert_no_error (error);

  g_assert_cmpstr (imp_recording_get_format (rec), ==, "fake");
  _imp_recording_set_format (rec, "fake v2");
  g_assert_cmpstr (imp_recording_get_format (rec), ==, "fake v2");
  g_assert_cmpstr (imp_recording_get_path (rec), ==, "fake.dat");
  g_assert_cmpuint (imp_recording_get_n_channels (rec), ==, 3);
  g_assert_cmpint (imp_recording_get_n_samples (rec), ==, 800);
  g_assert_cmpfloat_with_epsilon (imp_recording_get_duration (rec), 0.8,
                                  1e-12);

  ch = imp_recording_get_channel (rec, 0);
  g_assert_cmpstr (ch->label, ==, "Vm");
  g_assert_cmpstr (ch->unit, ==, "mV");
  g_assert_cmpfloat_with_epsilon (ch->gain, 1.0, 1e-12);
  g_assert_cmpfloat_with_epsilon (ch->offset, 10.0, 1e-12);
  g_assert_false (ch->has_position);
  ch = imp_recording_get_channel (rec, 1);
  g_assert_cmpstr (ch->label, ==, "ch1");
  g_assert_cmpstr (ch->unit, ==, "pA");
  g_assert_cmpfloat_with_epsilon (ch->gain, 2000.0, 1e-9);
  ch = imp_recording_get_channel (rec, 2);
  g_assert_cmpstr (ch->unit, ==, "degC");
  g_assert_cmpfloat (ch->gain, ==, 0.5);
  g_assert_cmpfloat (ch->offset, ==, 20.0);

  _imp_recording_set_position (rec, 2, 15.0, -30.0);
  _imp_recording_set_access (rec, 2, IMP_ACCESS_INTRACELLULAR);
  ch = imp_recording_get_channel (rec, 2);
  g_assert_true (ch->has_position);
  g_assert_cmpfloat (ch->x_um, ==, 15.0);
  g_assert_cmpfloat (ch->y_um, ==, -30.0);
  g_assert_cmpint (ch->access, ==, IMP_ACCESS_INTRACELLULAR);
  _imp_recording_set_position (rec, 2, NAN, 3.0);
  g_assert_false (imp_recording_get_channel (rec, 2)->has_position);
}

static void
test_sweeps (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ImpRecording) rec = fake_new ();

  _imp_recording_add_sweep (rec, 100, 0.0);
  _imp_recording_add_sweep (rec, 200, 1.5);
  _imp_recording_add_sweep (rec, 50, 9.0);
  g_assert_true (_imp_recording_validate (rec, &error));

  g_assert_cmpuint (imp_recording_get_n_sweeps (rec), ==, 3);
  g_assert_cmpint (imp_recording_get_sweep (rec, 1)->start_sample, ==, 100);
  g_assert_cmpint (imp_recording_get_sweep (rec, 2)->start_sample, ==, 300);
  g_assert_cmpfloat (imp_recording_get_sweep (rec, 2)->start_s, ==, 9.0);
  g_assert_cmpint (imp_recording_get_n_samples (rec), ==, 350);

  g_assert_cmpuint (imp_recording_sweep_at (rec, -5), ==, 0);
  g_assert_cmpuint (imp_recording_sweep_at (rec, 0), ==, 0);
  g_assert_cmpuint (imp_recording_sweep_at (rec, 99), ==, 0);
  g_assert_cmpuint (imp_recording_sweep_at (rec, 100), ==, 1);
  g_assert_cmpuint (imp_recording_sweep_at (rec, 299), ==, 1);
  g_assert_cmpuint (imp_recording_sweep_at (rec, 300), ==, 2);
  g_assert_cmpuint (imp_recording_sweep_at (rec, 349), ==, 2);
  g_assert_cmpuint (imp_recording_sweep_at (rec, 10000), ==, 2);
}

static void
test_read (void)
{
  g_autoptr(GError) error = NULL;
  ImpRecording *rec = fake_new ();
  float out[2 * 10];

  _imp_recording_add_sweep (rec, 800, 0.0);
  g_assert_true (_imp_recording_validate (rec, &error));

  g_assert_true (imp_recording_read (rec, 0, 2, 790, 10, out, &error));
  g_assert_no_error (error);
  g_assert_true (fake_data.lock_was_held);
  /* (c * 1000 + s) counts; channel 0: 1 mV/count + 10 mV, channel 1:
   * 2000 pA/count. */
  for (int s = 0; s < 10; s++)
    {
      g_assert_cmpfloat_with_epsilon (out[s], 790 + s + 10.0, 1e-3);
      g_assert_cmpfloat_with_epsilon (out[10 + s],
                                      (1000.0 + 790 + s) * 2000.0, 1.0);
    }

  g_assert_false (imp_recording_read (rec, 0, 1, 791, 10, out, &error));
  g_assert_error (error, IMP_RECORDING_ERROR, IMP_RECORDING_ERROR_RANGE);
  g_clear_error (&error);
  g_assert_false (imp_recording_read (rec, 2, 2, 0, 1, out, &error));
  g_assert_error (error, IMP_RECORDING_ERROR, IMP_RECORDING_ERROR_RANGE);
  g_clear_error (&error);
  g_assert_false (imp_recording_read (rec, 0, 1, 0, -1, out, &error));
  g_assert_error (error, IMP_RECORDING_ERROR, IMP_RECORDING_ERROR_RANGE);
  g_clear_error (&error);
  /* Nothing to read is not an error. */
  g_assert_true (imp_recording_read (rec, 3, 0, 800, 0, NULL, &error));
  g_assert_no_error (error);

  /* The back end closes once, at the last unref. */
  imp_recording_ref (rec);
  imp_recording_unref (rec);
  g_assert_cmpint (fake_data.closed, ==, 0);
  imp_recording_unref (rec);
  g_assert_cmpint (fake_data.closed, ==, 1);
}

static void
test_warning (void)
{
  g_autoptr(ImpRecording) rec = fake_new ();

  g_assert_null (imp_recording_get_warning (rec));
  _imp_recording_add_warning (rec, "first repair");
  _imp_recording_add_warning (rec, "second repair");
  g_assert_cmpstr (imp_recording_get_warning (rec), ==,
                   "first repair\nsecond repair");

  g_assert_null (imp_recording_get_attribute (rec, "seed"));
  _imp_recording_set_attribute (rec, "seed", "7");
  g_assert_cmpstr (imp_recording_get_attribute (rec, "seed"), ==, "7");
}

typedef enum
{
  BAD_RATE_ZERO,
  BAD_RATE_NEGATIVE,
  BAD_RATE_NAN,
  BAD_RATE_INF,
  BAD_RATE_ABSURD,
  BAD_NO_CHANNELS,
  BAD_NO_SAMPLES,
  BAD_NAN_GAIN,
  BAD_ZERO_GAIN,
  BAD_INF_OFFSET,
  BAD_EMPTY_SWEEP,
  BAD_SWEEP_TIME,
  BAD_HUGE,
} Bad;

static void
test_validate (gconstpointer data)
{
  Bad bad = GPOINTER_TO_INT (data);
  g_autoptr(GError) error = NULL;
  g_autoptr(ImpRecording) rec = NULL;
  int code = IMP_RECORDING_ERROR_MALFORMED;

  fake_data.closed = 0;
  rec = _imp_recording_new ("bad", &fake_backend, &fake_data);
  rec->sample_rate = 1000.0;
  if (bad != BAD_NO_CHANNELS)
    _imp_recording_add_channel (rec, "a", "mV",
                                bad == BAD_NAN_GAIN ? NAN
                                : bad == BAD_ZERO_GAIN ? 0.0 : 1.0,
                                bad == BAD_INF_OFFSET ? INFINITY : 0.0);
  if (bad == BAD_EMPTY_SWEEP)
    _imp_recording_add_sweep (rec, 0, 0.0);
  if (bad != BAD_NO_SAMPLES)
    _imp_recording_add_sweep (rec, 100, bad == BAD_SWEEP_TIME ? NAN : 0.0);
  if (bad == BAD_HUGE)
    _imp_recording_add_sweep (rec, G_GINT64_CONSTANT (1) << 50, 1.0);

  switch (bad)
    {
    case BAD_RATE_ZERO:
      rec->sample_rate = 0.0;
      code = IMP_RECORDING_ERROR_NO_RATE;
      break;
    case BAD_RATE_NEGATIVE:
      rec->sample_rate = -10.0;
      code = IMP_RECORDING_ERROR_NO_RATE;
      break;
    case BAD_RATE_NAN:
      rec->sample_rate = NAN;
      code = IMP_RECORDING_ERROR_NO_RATE;
      break;
    case BAD_RATE_INF:
      rec->sample_rate = INFINITY;
      code = IMP_RECORDING_ERROR_NO_RATE;
      break;
    case BAD_RATE_ABSURD:
      rec->sample_rate = 2.0e7;
      code = IMP_RECORDING_ERROR_NO_RATE;
      break;
    case BAD_NO_CHANNELS:
    case BAD_NO_SAMPLES:
    case BAD_NAN_GAIN:
    case BAD_ZERO_GAIN:
    case BAD_INF_OFFSET:
    case BAD_EMPTY_SWEEP:
    case BAD_SWEEP_TIME:
    case BAD_HUGE:
    default:
      break;
    }

  g_assert_false (_imp_recording_validate (rec, &error));
  g_assert_error (error, IMP_RECORDING_ERROR, code);
  g_test_message ("%s", error->message);
}

static void
test_rate_limits (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ImpRecording) rec = fake_new ();

  _imp_recording_add_sweep (rec, 10, 0.0);
  rec->sample_rate = 1.0e7;   /* 10 MHz is the largest accepted */
  g_assert_true (_imp_recording_validate (rec, &error));
  g_assert_no_error (error);
  rec->sample_rate = 1.0;     /* slow, but a rate */
  g_assert_true (_imp_recording_validate (rec, &error));
  g_assert_no_error (error);
  rec->sample_rate = 0.5;     /* below 1 Hz: a corrupt header */
  g_assert_false (_imp_recording_validate (rec, &error));
  g_assert_error (error, IMP_RECORDING_ERROR, IMP_RECORDING_ERROR_NO_RATE);
  g_assert_nonnull (strstr (error->message, "below 1 Hz"));
  g_assert_cmpuint (imp_recording_get_n_sweeps (rec), ==, 1);
}

static void
test_default_sweep (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ImpRecording) rec = fake_new ();

  rec->n_samples = 1234;   /* a back end that sets the length directly */
  g_assert_true (_imp_recording_validate (rec, &error));
  g_assert_cmpuint (imp_recording_get_n_sweeps (rec), ==, 1);
  g_assert_cmpint (imp_recording_get_sweep (rec, 0)->start_sample, ==, 0);
  g_assert_cmpint (imp_recording_get_sweep (rec, 0)->n_samples, ==, 1234);
  g_assert_cmpfloat (imp_recording_get_sweep (rec, 0)->start_s, ==, 0.0);
}

/* Scale factors that make absurd values: a gain of 1e40 or an offset of
 * 1e300 turns every sample into ±inf, a tiny ABF instrument scale into
 * 1e37 pA. The check uses the stored values' range where it is known. */
static void
test_scale_limits (void)
{
  static const struct
  {
    const char *unit;
    double      gain;
    double      offset;
    double      raw_max;
    gboolean    ok;
  } cases[] = {
    { "mV", 0.3, 0.0, 32768.0, TRUE },           /* ±10 V amplifier */
    { "pA", 0.6, 0.0, 32768.0, TRUE },           /* ±20 nA */
    { "mV", 1.0e40, 0.0, 32768.0, FALSE },
    { "mV", 0.01, 1.0e300, 32768.0, FALSE },
    { "pA", 3.05e34, 0.0, 32768.0, FALSE },      /* the ABF case */
    { "mV", 100.0, 0.0, 32768.0, FALSE },        /* ±3.3 kV */
    { "mV", 1000.0, 0.0, 0.0, TRUE },            /* floats stored in V */
    { "mV", 1.0e7, 0.0, 0.0, FALSE },
    { "degC", 1.0e20, 0.0, 32768.0, TRUE },      /* not ours to judge */
    { "degC", 1.0e40, 0.0, 32768.0, FALSE },     /* but not infinite */
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(ImpRecording) rec = NULL;
      gboolean ok;

      fake_data.closed = 0;
      rec = _imp_recording_new ("scale", &fake_backend, &fake_data);
      rec->sample_rate = 1000.0;
      _imp_recording_add_channel (rec, "x", cases[i].unit, cases[i].gain,
                                  cases[i].offset);
      _imp_recording_set_raw_max (rec, 0, cases[i].raw_max);
      _imp_recording_add_sweep (rec, 100, 0.0);
      ok = _imp_recording_validate (rec, &error);
      g_test_message ("%s × %g + %g: %s", cases[i].unit, cases[i].gain,
                      cases[i].offset, ok ? "accepted" : error->message);
      g_assert_cmpint (ok, ==, cases[i].ok);
      if (!ok)
        {
          g_assert_error (error, IMP_RECORDING_ERROR,
                          IMP_RECORDING_ERROR_MALFORMED);
          g_assert_nonnull (strstr (error->message, "channel 0 (“x”)"));
          g_assert_nonnull (strstr (error->message, "corrupt"));
        }
    }
}

/* Positions: NaN is "unknown" and passes quietly; infinite or absurd
 * ones are dropped, and the warning names the channels. */
static void
test_positions (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ImpRecording) rec = fake_new ();

  _imp_recording_add_sweep (rec, 100, 0.0);
  _imp_recording_set_position (rec, 0, 10.0, 20.0);
  _imp_recording_set_position (rec, 1, 1.0e20, 0.0);
  _imp_recording_set_position (rec, 2, NAN, NAN);
  g_assert_true (_imp_recording_validate (rec, &error));
  g_assert_true (imp_recording_get_channel (rec, 0)->has_position);
  g_assert_false (imp_recording_get_channel (rec, 1)->has_position);
  g_assert_true (isnan (imp_recording_get_channel (rec, 1)->x_um));
  g_assert_false (imp_recording_get_channel (rec, 2)->has_position);
  g_test_message ("%s", imp_recording_get_warning (rec));
  g_assert_nonnull (strstr (imp_recording_get_warning (rec),
                            "position of channel 1 is infinite or further"));

  g_clear_pointer (&rec, imp_recording_unref);
  rec = fake_new ();
  _imp_recording_add_sweep (rec, 100, 0.0);
  _imp_recording_set_position (rec, 0, 0.0, INFINITY);
  _imp_recording_set_position (rec, 1, -2.0e7, 0.0);
  g_assert_true (_imp_recording_validate (rec, &error));
  g_assert_nonnull (strstr (imp_recording_get_warning (rec),
                            "positions of channels 0, 1"));
}

/* Units the analysis cannot take as membrane potential are named, and
 * "MV" (megavolts) is told apart from "mV". */
static void
test_unit_warning (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ImpRecording) rec = NULL;
  const char *warning;

  fake_data.closed = 0;
  rec = _imp_recording_new ("units", &fake_backend, &fake_data);
  rec->sample_rate = 1000.0;
  _imp_recording_add_channel (rec, "a", "mV", 0.01, 0.0);
  _imp_recording_add_channel (rec, "b", "furlongs", 1.0, 0.0);
  _imp_recording_add_channel (rec, "c", "MV", 1.0e-6, 0.0);
  _imp_recording_add_channel (rec, "d", "", 1.0, 0.0);
  _imp_recording_add_channel (rec, "e", "nA", 0.001, 0.0);
  _imp_recording_add_sweep (rec, 100, 0.0);
  g_assert_true (_imp_recording_validate (rec, &error));
  warning = imp_recording_get_warning (rec);
  g_test_message ("%s", warning);
  g_assert_nonnull (warning);
  g_assert_nonnull (strstr (warning, "1 (“b”, in “furlongs”)"));
  g_assert_nonnull (strstr (warning, "2 (“c”, in “MV”: megavolts"));
  g_assert_nonnull (strstr (warning, "not analysed as membrane potential"));
  g_assert_null (strstr (warning, "“a”"));
  g_assert_null (strstr (warning, "“d”"));
  g_assert_null (strstr (warning, "“e”"));
}

/* Sweep times before the start or going backwards are kept, and said. */
static void
test_sweep_time_warning (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ImpRecording) rec = fake_new ();

  _imp_recording_add_sweep (rec, 100, -2.0);
  _imp_recording_add_sweep (rec, 100, 5.0);
  _imp_recording_add_sweep (rec, 100, 1.0);
  g_assert_true (_imp_recording_validate (rec, &error));
  g_test_message ("%s", imp_recording_get_warning (rec));
  g_assert_nonnull (strstr (imp_recording_get_warning (rec),
                            "Sweep 0 starts at -2 s"));
  g_assert_nonnull (strstr (imp_recording_get_warning (rec),
                            "sweep 2 starts at 1 s, before sweep 1 at 5 s"));
  g_assert_cmpfloat (imp_recording_get_sweep (rec, 2)->start_s, ==, 1.0);

  /* Equal start times (writers that keep none) pass quietly. */
  g_clear_pointer (&rec, imp_recording_unref);
  fake_data.closed = 0;
  rec = _imp_recording_new ("equal", &fake_backend, &fake_data);
  rec->sample_rate = 1000.0;
  _imp_recording_add_channel (rec, "a", "mV", 0.01, 0.0);
  _imp_recording_add_sweep (rec, 100, 0.0);
  _imp_recording_add_sweep (rec, 100, 0.0);
  g_assert_true (_imp_recording_validate (rec, &error));
  g_assert_null (imp_recording_get_warning (rec));
}

/* Labels and units are valid UTF-8 whatever the file holds; legacy text
 * is read as Windows-1252. */
static void
test_text (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ImpRecording) rec = NULL;
  g_autofree char *latin = _imp_text_from_legacy ("C\xe9llule", -1);
  g_autofree char *micro = _imp_text_from_legacy ("\xb5V", -1);
  g_autofree char *utf8 = _imp_text_from_legacy ("C\xc3\xa9llule", -1);
  g_autofree char *undefined = _imp_text_from_legacy ("a\x81" "b", 3);
  const char *canonical = NULL;

  g_assert_cmpstr (latin, ==, "Céllule");
  g_assert_cmpstr (micro, ==, "µV");
  g_assert_cmpfloat (_imp_unit_normalise (micro, &canonical), ==, 1.0e-3);
  g_assert_cmpstr (canonical, ==, "mV");
  g_assert_cmpstr (utf8, ==, "Céllule");
  g_assert_true (g_utf8_validate (undefined, -1, NULL));

  fake_data.closed = 0;
  rec = _imp_recording_new ("text", &fake_backend, &fake_data);
  rec->sample_rate = 1000.0;
  _imp_recording_add_channel (rec, "bad\xff\xfelabel", "m\xffV", 0.01, 0.0);
  _imp_recording_add_sweep (rec, 100, 0.0);
  _imp_recording_add_warning (rec, "raw \xe9 byte");
  _imp_recording_set_attribute (rec, "k\xe9y", "v\xe9lue");
  g_assert_true (_imp_recording_validate (rec, &error));
  g_assert_true (g_utf8_validate (imp_recording_get_channel (rec, 0)->label,
                                  -1, NULL));
  g_assert_true (g_utf8_validate (imp_recording_get_channel (rec, 0)->unit,
                                  -1, NULL));
  g_assert_true (g_utf8_validate (imp_recording_get_warning (rec), -1,
                                  NULL));
}

/* The probe child: whatever happens in it, this process carries on and
 * learns what happened. */

static gboolean
probe_ok_cb (gpointer   data,
             GError   **error)
{
  _imp_probe_stage ("the first part");
  _imp_probe_stage ("the second part");
  return _imp_probe_in_child ();
}

static gboolean
probe_error_cb (gpointer   data,
                GError   **error)
{
  g_set_error_literal (error, IMP_RECORDING_ERROR,
                       IMP_RECORDING_ERROR_UNSUPPORTED,
                       "a message\nover two lines");
  return FALSE;
}

static gboolean
probe_declined_cb (gpointer   data,
                   GError   **error)
{
  return FALSE;
}

static gboolean
probe_segv_cb (gpointer   data,
               GError   **error)
{
  _imp_probe_stage ("its doomed part");
  raise (SIGSEGV);
  return TRUE;
}

static gboolean
probe_hang_cb (gpointer   data,
               GError   **error)
{
  for (;;)
    g_usleep (G_USEC_PER_SEC);
  return TRUE;
}

static gboolean
probe_exit_cb (gpointer   data,
               GError   **error)
{
  exit (3);
  return TRUE;
}

/* Asks for 8 GB, as a corrupt header can make a library do. */
static gboolean
probe_hog_cb (gpointer   data,
              GError   **error)
{
  gsize size = G_GUINT64_CONSTANT (8) << 30;
  guint8 *p = g_try_malloc (size);

  if (p == NULL)
    {
      g_set_error_literal (error, IMP_RECORDING_ERROR,
                           IMP_RECORDING_ERROR_IO, "out of memory");
      return FALSE;
    }
  for (gsize i = 0; i < size; i += 4096)
    p[i] = 1;
  return TRUE;
}

static void
test_probe (void)
{
  ImpProbeReport report;
  gint64 t0;

  g_assert_false (_imp_probe_in_child ());

  g_assert_cmpint (_imp_probe_run (probe_ok_cb, NULL, NULL, 10,
                                   IMP_PROBE_MEMORY_BYTES, &report),
                   ==, IMP_PROBE_OK);
  g_assert_cmpstr (report.stage, ==, "the second part");
  _imp_probe_report_clear (&report);

  g_assert_cmpint (_imp_probe_run (probe_error_cb, NULL, NULL, 10,
                                   IMP_PROBE_MEMORY_BYTES, &report),
                   ==, IMP_PROBE_FAILED);
  g_assert_cmpint (report.code, ==, IMP_RECORDING_ERROR_UNSUPPORTED);
  g_assert_cmpstr (report.message, ==, "a message over two lines");
  _imp_probe_report_clear (&report);

  g_assert_cmpint (_imp_probe_run (probe_declined_cb, NULL, NULL, 10,
                                   IMP_PROBE_MEMORY_BYTES, &report),
                   ==, IMP_PROBE_DECLINED);
  _imp_probe_report_clear (&report);

  g_assert_cmpint (_imp_probe_run (probe_segv_cb, NULL, NULL, 10,
                                   IMP_PROBE_MEMORY_BYTES, &report),
                   ==, IMP_PROBE_CRASHED);
  g_assert_cmpint (report.signal, ==, SIGSEGV);
  g_assert_cmpstr (report.stage, ==, "its doomed part");
  _imp_probe_report_clear (&report);

  t0 = g_get_monotonic_time ();
  g_assert_cmpint (_imp_probe_run (probe_hang_cb, NULL, NULL, 1,
                                   IMP_PROBE_MEMORY_BYTES, &report),
                   ==, IMP_PROBE_TIMEOUT);
  g_assert_cmpint (g_get_monotonic_time () - t0, <, 5 * G_USEC_PER_SEC);
  _imp_probe_report_clear (&report);

  g_assert_cmpint (_imp_probe_run (probe_exit_cb, NULL, NULL, 10,
                                   IMP_PROBE_MEMORY_BYTES, &report),
                   ==, IMP_PROBE_EXITED);
  _imp_probe_report_clear (&report);

  /* The memory limit: the 8 GB never arrive. */
  g_assert_cmpint (_imp_probe_run (probe_hog_cb, NULL, NULL, 30,
                                   G_GUINT64_CONSTANT (256) << 20, &report),
                   ==, IMP_PROBE_FAILED);
  g_assert_cmpstr (report.message, ==, "out of memory");
  _imp_probe_report_clear (&report);
}

/* A file cut short or rewritten after opening reads as zeros, or as
 * something else; reads after that are refused instead. */
static void
test_changed_on_disk (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ImpRecording) rec = fake_new ();
  g_autofree char *path = g_build_filename (tmpdir, "changing.dat", NULL);
  g_autofree char *text = g_strnfill (3000, 'x');
  float out[10];
  struct stat st;

  g_assert_true (g_file_set_contents (path, text, -1, NULL));
  _imp_recording_add_sweep (rec, 800, 0.0);
  g_assert_true (_imp_recording_validate (rec, &error));
  /* What imp_recording_open() keeps of the file. */
  rec->fd = g_open (path, O_RDONLY, 0);
  g_assert_cmpint (fstat (rec->fd, &st), ==, 0);
  rec->file_size = st.st_size;
  rec->file_mtime = (gint64) st.st_mtim.tv_sec * G_USEC_PER_SEC
                    + st.st_mtim.tv_nsec / 1000;

  g_assert_true (imp_recording_read (rec, 0, 1, 0, 10, out, &error));
  g_assert_no_error (error);
  g_assert_cmpint (truncate (path, 1000), ==, 0);
  g_assert_false (imp_recording_read (rec, 0, 1, 0, 10, out, &error));
  g_assert_error (error, IMP_RECORDING_ERROR, IMP_RECORDING_ERROR_IO);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message,
                            "changed on disk since it was opened"));
}

static char *
write_tmp (const char   *name,
           const guint8 *bytes,
           gsize         len)
{
  char *path = g_build_filename (tmpdir, name, NULL);

  g_assert_true (g_file_set_contents (path, (const char *) bytes, len,
                                      NULL));
  return path;
}

static void
test_open_errors (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *missing = g_build_filename (tmpdir, "missing.abf", NULL);
  g_autofree char *empty = write_tmp ("empty.abf", (const guint8 *) "", 0);
  g_autofree char *text = NULL;
  g_autofree char *garbage = NULL;
  g_autofree guint8 *noise = g_new (guint8, 4096);
  GRand *rand = g_rand_new_with_seed (42);
  ImpRecording *rec;

  rec = imp_recording_open (missing, &error);
  g_assert_null (rec);
  g_assert_error (error, IMP_RECORDING_ERROR, IMP_RECORDING_ERROR_NOT_FOUND);
  /* The caller names the file; the message does not. */
  g_assert_null (strstr (error->message, "missing.abf"));
  g_assert_nonnull (strstr (error->message, "No such file"));
  g_clear_error (&error);

  rec = imp_recording_open (tmpdir, &error);
  g_assert_null (rec);
  g_assert_error (error, IMP_RECORDING_ERROR, IMP_RECORDING_ERROR_NOT_FOUND);
  g_clear_error (&error);

  rec = imp_recording_open (empty, &error);
  g_assert_null (rec);
  g_assert_error (error, IMP_RECORDING_ERROR,
                  IMP_RECORDING_ERROR_UNKNOWN_FORMAT);
  g_assert_nonnull (strstr (error->message, "empty"));
  g_assert_null (strstr (error->message, "empty.abf"));
  g_clear_error (&error);

  text = write_tmp ("notes.txt",
                    (const guint8 *) "These are not samples.\n", 23);
  rec = imp_recording_open (text, &error);
  g_assert_null (rec);
  g_assert_error (error, IMP_RECORDING_ERROR,
                  IMP_RECORDING_ERROR_UNKNOWN_FORMAT);
  g_clear_error (&error);

  for (guint i = 0; i < 4096; i++)
    noise[i] = (guint8) g_rand_int_range (rand, 0, 256);
  g_rand_free (rand);
  garbage = write_tmp ("noise.bin", noise, 4096);
  rec = imp_recording_open (garbage, &error);
  g_assert_null (rec);
  g_assert_nonnull (error);
  g_assert_true (error->domain == IMP_RECORDING_ERROR);
  g_test_message ("%s", error->message);
}

static void
remove_tmpdir (void)
{
  g_autoptr(GDir) dir = g_dir_open (tmpdir, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (tmpdir, name, NULL);

      g_unlink (path);
    }
  g_rmdir (tmpdir);
}

int
main (int   argc,
      char *argv[])
{
  static const struct { const char *name; Bad bad; } bads[] = {
    { "rate-zero", BAD_RATE_ZERO },
    { "rate-negative", BAD_RATE_NEGATIVE },
    { "rate-nan", BAD_RATE_NAN },
    { "rate-inf", BAD_RATE_INF },
    { "rate-absurd", BAD_RATE_ABSURD },
    { "no-channels", BAD_NO_CHANNELS },
    { "no-samples", BAD_NO_SAMPLES },
    { "nan-gain", BAD_NAN_GAIN },
    { "zero-gain", BAD_ZERO_GAIN },
    { "inf-offset", BAD_INF_OFFSET },
    { "empty-sweep", BAD_EMPTY_SWEEP },
    { "sweep-time", BAD_SWEEP_TIME },
    { "huge", BAD_HUGE },
  };
  int ret;

  g_test_init (&argc, &argv, NULL);
  tmpdir = g_dir_make_tmp ("imp-recording-XXXXXX", NULL);

  g_test_add_func ("/imp/Recording/channels", test_channels);
  g_test_add_func ("/imp/Recording/sweeps", test_sweeps);
  g_test_add_func ("/imp/Recording/read", test_read);
  g_test_add_func ("/imp/Recording/warning", test_warning);
  g_test_add_func ("/imp/Recording/rate-limits", test_rate_limits);
  g_test_add_func ("/imp/Recording/default-sweep", test_default_sweep);
  g_test_add_func ("/imp/Recording/open-errors", test_open_errors);
  g_test_add_func ("/imp/Recording/scale-limits", test_scale_limits);
  g_test_add_func ("/imp/Recording/positions", test_positions);
  g_test_add_func ("/imp/Recording/unit-warning", test_unit_warning);
  g_test_add_func ("/imp/Recording/sweep-time-warning",
                   test_sweep_time_warning);
  g_test_add_func ("/imp/Recording/text", test_text);
  g_test_add_func ("/imp/Recording/probe", test_probe);
  g_test_add_func ("/imp/Recording/changed-on-disk", test_changed_on_disk);
  for (guint i = 0; i < G_N_ELEMENTS (bads); i++)
    {
      g_autofree char *path = g_strdup_printf ("/imp/Recording/validate/%s",
                                               bads[i].name);

      g_test_add_data_func (path, GINT_TO_POINTER (bads[i].bad),
                            test_validate);
    }

  ret = g_test_run ();
  remove_tmpdir ();
  g_free (tmpdir);

  return ret;
}
