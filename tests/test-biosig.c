/* test-biosig.c
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <math.h>
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include <biosig.h>

#include "imp-recording.h"

static char *tmpdir;

static char *
tmp_file (const char *name)
{
  return g_build_filename (tmpdir, name, NULL);
}

/* The real recordings of PROVENANCE.md, or NULL (test skipped) when the
 * shared data folder is not there. */
static char *
real_file (const char *subdir,
           const char *name)
{
  const char *shared = g_getenv ("IMP_SHARED_DATA");
  g_autofree char *path = NULL;

  if (shared == NULL)
    return NULL;
  path = g_build_filename (shared, "real", subdir, name, NULL);
  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR))
    return NULL;
  return g_steal_pointer (&path);
}

static gboolean
missing (const char *path)
{
  if (path != NULL)
    return FALSE;
  g_test_skip ("the shared real recordings are not available");
  return TRUE;
}

static ImpRecording *
open_ok (const char *path)
{
  g_autoptr(GError) error = NULL;
  ImpRecording *rec = imp_recording_open (path, &error);

  g_assert_no_error (error);
  g_assert_nonnull (rec);
  if (imp_recording_get_warning (rec) != NULL)
    g_test_message ("warning: %s", imp_recording_get_warning (rec));
  return rec;
}

static float *
read_range (ImpRecording *rec,
            guint         channel,
            gint64        first,
            gint64        n)
{
  g_autoptr(GError) error = NULL;
  float *out = g_new (float, n);

  g_assert_true (imp_recording_read (rec, channel, 1, first, n, out,
                                     &error));
  g_assert_no_error (error);
  return out;
}

static float *
read_sweep (ImpRecording *rec,
            guint         channel,
            guint         sweep)
{
  const ImpSweep *sw = imp_recording_get_sweep (rec, sweep);

  return read_range (rec, channel, sw->start_sample, sw->n_samples);
}

/* Upward crossings of @level: a count of action potentials. */
static guint
count_crossings (const float *v,
                 gint64       n,
                 float        level)
{
  guint count = 0;

  for (gint64 i = 1; i < n; i++)
    if (v[i - 1] < level && v[i] >= level)
      count++;
  return count;
}

static int
compare_floats (gconstpointer a,
                gconstpointer b)
{
  float x = *(const float *) a;
  float y = *(const float *) b;

  return x < y ? -1 : x > y;
}

static double
median (const float *v,
        gint64       n)
{
  g_autofree float *copy = g_memdup2 (v, n * sizeof (float));

  qsort (copy, n, sizeof (float), compare_floats);
  return copy[n / 2];
}

static void
assert_sweeps (ImpRecording *rec,
               guint         n_sweeps,
               gint64        n_samples)
{
  g_assert_cmpuint (imp_recording_get_n_sweeps (rec), ==, n_sweeps);
  for (guint w = 0; w < n_sweeps; w++)
    {
      const ImpSweep *sw = imp_recording_get_sweep (rec, w);

      g_assert_cmpint (sw->start_sample, ==, w * n_samples);
      g_assert_cmpint (sw->n_samples, ==, n_samples);
    }
  g_assert_cmpint (imp_recording_get_n_samples (rec), ==,
                   n_sweeps * n_samples);
}

/* Values an independent reader published: pyABF's header pages for its
 * test files (swharden/pyABF, data/headers/<file>.md) print the first and
 * last samples it reads, to 5 decimals. */
static void
assert_published (ImpRecording *rec,
                  guint         channel,
                  gint64        first,
                  const double  want[3],
                  double        factor)
{
  g_autofree float *v = read_range (rec, channel, first, 3);

  /* 5 decimals, and float samples: 1e-6 relative is 2 ulp. */
  for (guint i = 0; i < 3; i++)
    g_assert_cmpfloat_with_epsilon (v[i] * factor, want[i],
                                    1e-5 * factor + 1e-6 * fabs (want[i]));
}

static double
mean_between (const float *v,
              double       rate,
              double       from_s,
              double       to_s)
{
  gint64 a = (gint64) (from_s * rate);
  gint64 b = (gint64) (to_s * rate);
  double sum = 0;

  for (gint64 i = a; i < b; i++)
    sum += v[i];
  return sum / (b - a);
}

/* PROVENANCE.md: f1.abf, ABF 1.83: 4 channels (2 × pA, 2 × mV), 20 kHz,
 * 10 sweeps × 2.5 s, voltage clamp at −60 mV, −5 mV test pulse.
 *
 * The two mV channels read about +3,090 and +3,440 mV. That is what the
 * file says, not a scaling mistake:
 * - The sampling sequence is inputs 0, 1, 2, 3 (nADCSamplingSeq), so
 *   there is no channel mapping to get wrong.
 * - CH1 and CH2 (pA) are telegraphed MultiClamp 700 inputs at 0.5 V/nA
 *   (fInstrumentScaleFactor 0.0005, fTelegraphAdditGain 1): 10 V / 32768
 *   / 0.0005 = 0.6104 pA per count.
 * - IN 2 and IN 3 are untelegraphed inputs declared as mV at 1e-4 V per mV
 *   (fInstrumentScaleFactor 0.0001; programmable and signal gain 1,
 *   offsets 0, no signal conditioner): 10 V / 32768 / 0.0001 = 3.052 mV
 *   per count. They hold a steady ~1013 and ~1127 counts (0.309 and
 *   0.344 V at the digitiser) that drift by a few counts over the run and
 *   show neither the stimulus train nor the test pulse: auxiliary signals,
 *   not the membrane potential and not a copy of the command.
 * - The −60 mV holding and the −5 mV test pulse are the command on DAC
 *   OUT 0 (fDACHoldingLevel −60; epoch C at −65 mV from sample 33,281 =
 *   781 pre-sweep + 2,500 + 30,000, for 8,000 samples: 1.664–2.064 s).
 *   The file records no ADC copy of the command; the pulse shows as a
 *   current step of a few pA on CH1 in every sweep.
 * pyABF reads the same values (its published header page for f1.abf), and
 * libbiosig agrees with our scale (no warning). */
static void
test_abf_f1 (void)
{
  g_autofree char *path = real_file ("abf", "f1.abf");
  g_autoptr(ImpRecording) rec = NULL;
  static const double ch1_first[3] = { -30.51758, -41.50391, -32.34863 };
  static const double ch1_end[3] = { -57.37305, -49.43848, -55.54199 };
  static const double in3_end[3] = { 3442.38281, 3436.27930, 3439.33105 };
  static const double scale[4] = {
    10.0 / 32768 / 0.0005, 10.0 / 32768 / 0.0005,
    10.0 / 32768 / 0.0001, 10.0 / 32768 / 0.0001,
  };

  if (missing (path))
    return;
  rec = open_ok (path);

  g_assert_cmpstr (imp_recording_get_format (rec), ==, "ABF 1.83");
  g_assert_cmpuint (imp_recording_get_n_channels (rec), ==, 4);
  g_assert_cmpfloat (imp_recording_get_sample_rate (rec), ==, 20000.0);
  assert_sweeps (rec, 10, 50000);
  g_assert_cmpstr (imp_recording_get_channel (rec, 0)->unit, ==, "pA");
  g_assert_cmpstr (imp_recording_get_channel (rec, 1)->unit, ==, "pA");
  g_assert_cmpstr (imp_recording_get_channel (rec, 2)->unit, ==, "mV");
  g_assert_cmpstr (imp_recording_get_channel (rec, 3)->unit, ==, "mV");
  g_assert_cmpstr (imp_recording_get_channel (rec, 2)->label, ==, "IN 2");
  g_assert_cmpstr (imp_recording_get_channel (rec, 3)->label, ==, "IN 3");
  for (guint c = 0; c < 4; c++)
    {
      const ImpChannel *ch = imp_recording_get_channel (rec, c);

      g_assert_cmpfloat_with_epsilon (ch->gain, scale[c], scale[c] * 1e-6);
      g_assert_cmpfloat (ch->offset, ==, 0.0);
    }
  /* libbiosig reads this file right: nothing to repair. */
  g_assert_null (imp_recording_get_warning (rec));

  /* Sweeps 2.5 s long start every 3 s: the synch array's starts are
   * multiples of 240,000 ticks of 12.5 µs (fEpisodeStartToStart 3). */
  for (guint w = 0; w < 10; w++)
    g_assert_cmpfloat_with_epsilon (imp_recording_get_sweep (rec, w)->start_s,
                                    3.0 * w, 1e-9);

  assert_published (rec, 0, 0, ch1_first, 1.0);
  assert_published (rec, 0, 50000 - 3, ch1_end, 1.0);
  assert_published (rec, 3, 10 * 50000 - 3, in3_end, 1.0);

  for (guint w = 0; w < 10; w++)
    {
      g_autofree float *ch1 = read_sweep (rec, 0, w);

      /* The −5 mV pulse: a small inward step, gone after the pulse. */
      double before = mean_between (ch1, 20000.0, 1.20, 1.65);
      double during = mean_between (ch1, 20000.0, 1.75, 2.05) - before;
      double after = mean_between (ch1, 20000.0, 2.15, 2.45) - before;

      g_test_message ("sweep %u: CH1 %.1f pA, pulse %+.2f pA", w, before,
                      during);
      g_assert_cmpfloat (during, <, -2.0);
      g_assert_cmpfloat (during, >, -10.0);
      g_assert_cmpfloat (fabs (after), <, 5.0);

      /* IN 2 and IN 3: flat within a few counts, no pulse, no train. */
      for (guint c = 2; c < 4; c++)
        {
          g_autofree float *v = read_sweep (rec, c, w);
          double level = mean_between (v, 20000.0, 1.20, 1.65);
          double step = mean_between (v, 20000.0, 1.75, 2.05) - level;
          float lo = G_MAXFLOAT, hi = -G_MAXFLOAT;

          for (gint64 i = 0; i < 50000; i++)
            {
              lo = MIN (lo, v[i]);
              hi = MAX (hi, v[i]);
            }
          g_assert_cmpfloat (fabs (step), <, scale[c]);
          g_assert_cmpfloat (hi - lo, <, 30 * scale[c]);
          g_assert_cmpfloat (level, >, c == 2 ? 3000.0 : 3350.0);
          g_assert_cmpfloat (level, <, c == 2 ? 3200.0 : 3550.0);
        }
    }
}

/* 17o05026_vc_stim.abf, ABF 2.6: 1 channel pA, 20 kHz, 8 sweeps × 10 s;
 * EPSCs of ~10–80 pA at a holding current that is not far from 0. */
static void
test_abf_17o05026 (void)
{
  g_autofree char *path = real_file ("abf", "17o05026_vc_stim.abf");
  g_autoptr(ImpRecording) rec = NULL;
  const char *warning;
  static const double first[3] = { -16.11328, -15.99121, -15.25879 };
  static const double end[3] = { -24.78027, -24.90234, -25.51269 };
  static const double last[3] = { -14.28223, -14.03808, -12.93945 };

  if (missing (path))
    return;
  rec = open_ok (path);

  g_assert_cmpstr (imp_recording_get_format (rec), ==, "ABF 2.60");
  g_assert_cmpuint (imp_recording_get_n_channels (rec), ==, 1);
  g_assert_cmpfloat (imp_recording_get_sample_rate (rec), ==, 20000.0);
  assert_sweeps (rec, 8, 200000);
  g_assert_cmpstr (imp_recording_get_channel (rec, 0)->unit, ==, "pA");
  for (guint w = 0; w < 8; w++)
    {
      g_autofree float *v = read_sweep (rec, 0, w);
      double base = median (v, 200000);

      /* Start to start every 10 s, back to back. */
      g_assert_cmpfloat_with_epsilon (imp_recording_get_sweep (rec, w)->start_s,
                                      10.0 * w, 1e-6);
      g_assert_cmpfloat (fabs (base), <, 200.0);
    }
  /* Telegraphed gain 5 at 0.5 V/nA: 0.1221 pA per count. */
  assert_published (rec, 0, 0, first, 1.0);
  assert_published (rec, 0, 200000 - 3, end, 1.0);
  assert_published (rec, 0, 8 * 200000 - 3, last, 1.0);
  warning = imp_recording_get_warning (rec);
  g_assert_nonnull (warning);
  g_assert_nonnull (strstr (warning, "8 episodic sweeps"));
}

/* opto_aps_good_units.abf: 1 channel mV, 20 kHz, 3 episodic sweeps × 20 s;
 * ~50 APs per sweep overshooting to ~+40 mV from a rest of ~−75 mV.
 * libbiosig reads 1 sweep of 1,200,000 samples with no unit. */
static void
test_abf_opto (void)
{
  g_autofree char *path = real_file ("abf", "opto_aps_good_units.abf");
  g_autoptr(ImpRecording) rec = NULL;
  const char *warning;
  static const double first[3] = { -75.98877, -76.04980, -76.11084 };
  static const double end[3] = { -75.53101, -75.53101, -75.50049 };
  static const double last[3] = { -77.30103, -77.36206, -77.33154 };

  if (missing (path))
    return;
  rec = open_ok (path);

  g_assert_cmpuint (imp_recording_get_n_channels (rec), ==, 1);
  g_assert_cmpfloat (imp_recording_get_sample_rate (rec), ==, 20000.0);
  assert_sweeps (rec, 3, 400000);
  g_assert_cmpstr (imp_recording_get_channel (rec, 0)->unit, ==, "mV");
  for (guint w = 0; w < 3; w++)
    {
      g_autofree float *v = read_sweep (rec, 0, w);
      guint aps = count_crossings (v, 400000, 0.0f);
      float peak = -G_MAXFLOAT;

      for (gint64 i = 0; i < 400000; i++)
        peak = MAX (peak, v[i]);
      g_test_message ("sweep %u: %u APs, peak %.1f mV, rest %.1f mV", w,
                      aps, peak, median (v, 400000));
      g_assert_cmpuint (aps, >=, 40);
      g_assert_cmpuint (aps, <=, 60);
      g_assert_cmpfloat (peak, >, 30.0);
      g_assert_cmpfloat (peak, <, 55.0);
      g_assert_cmpfloat (fabs (median (v, 400000) + 75.0), <, 6.0);
    }
  assert_published (rec, 0, 0, first, 1.0);
  assert_published (rec, 0, 400000 - 3, end, 1.0);
  assert_published (rec, 0, 3 * 400000 - 3, last, 1.0);
  warning = imp_recording_get_warning (rec);
  g_assert_nonnull (warning);
  g_assert_nonnull (strstr (warning, "ABF header says 3 episodic sweeps of "
                                     "20 s; libbiosig read 1 sweep"));
  g_assert_nonnull (strstr (warning, "in mV"));
}

/* 190619B_0003.abf, ABF 1.83: IN 0 (the cell, mV, APs) and IN 2 (flat
 * near 0 mV), 10 kHz, 10 sweeps × 3.06 s. libbiosig calls the second
 * channel IN 1 in pA, and so does pyABF's published header page, which
 * says it does not apply the sampling sequence: it scales the same counts
 * with input 1's 0.5 V/nA instead of input 2's 1 V/mV, 2,000 times our
 * value. */
static void
test_abf_190619b (void)
{
  g_autofree char *path = real_file ("abf", "190619B_0003.abf");
  g_autoptr(ImpRecording) rec = NULL;
  g_autofree float *cell = NULL;
  g_autofree float *flat = NULL;
  gint64 n;
  float lo = G_MAXFLOAT, hi = -G_MAXFLOAT;
  guint aps = 0;
  static const double first[3] = { -65.91796, -66.22314, -65.97900 };
  static const double end[3] = { -66.34521, -66.22314, -66.16210 };
  static const double last_as_pa[3] = { -20.14160, -21.36230, -20.14160 };

  if (missing (path))
    return;
  rec = open_ok (path);

  g_assert_cmpuint (imp_recording_get_n_channels (rec), ==, 2);
  g_assert_cmpfloat (imp_recording_get_sample_rate (rec), ==, 10000.0);
  assert_sweeps (rec, 10, 30640);
  g_assert_cmpstr (imp_recording_get_channel (rec, 0)->label, ==, "IN 0");
  g_assert_cmpstr (imp_recording_get_channel (rec, 1)->label, ==, "IN 2");
  g_assert_cmpstr (imp_recording_get_channel (rec, 0)->unit, ==, "mV");
  g_assert_cmpstr (imp_recording_get_channel (rec, 1)->unit, ==, "mV");
  g_assert_nonnull (strstr (imp_recording_get_warning (rec), "IN 2"));
  assert_published (rec, 0, 0, first, 1.0);
  assert_published (rec, 0, 30640 - 3, end, 1.0);
  assert_published (rec, 1, 10 * 30640 - 3, last_as_pa, 2000.0);

  n = imp_recording_get_n_samples (rec);
  cell = read_range (rec, 0, 0, n);
  flat = read_range (rec, 1, 0, n);
  for (gint64 i = 0; i < n; i++)
    {
      lo = MIN (lo, flat[i]);
      hi = MAX (hi, flat[i]);
    }
  g_assert_cmpfloat (lo, >, -1.0);
  g_assert_cmpfloat (hi, <, 1.0);
  /* Steps from −120 to +420 pA: the last sweeps fire repetitively. */
  for (guint w = 0; w < 10; w++)
    {
      const ImpSweep *sw = imp_recording_get_sweep (rec, w);

      aps += count_crossings (cell + sw->start_sample, sw->n_samples, 0.0f);
    }
  g_test_message ("%u APs in IN 0", aps);
  g_assert_cmpuint (aps, >=, 10);
  g_assert_cmpfloat (median (cell, n), <, -40.0);
}

/* PYR2.abf and FergusonEtAl2015_PYR2.nwb are the same recording: 13
 * sweeps of 20,000 samples at 10 kHz. The ABF's Vm channel must equal the
 * NWB's CurrentClampSeries sample for sample, in mV. */
static void
test_abf_pyr2_vs_nwb (void)
{
  g_autofree char *abf_path = real_file ("abf", "PYR2.abf");
  g_autofree char *nwb_path = real_file ("nwb", "FergusonEtAl2015_PYR2.nwb");
  g_autoptr(ImpRecording) abf = NULL;
  g_autoptr(ImpRecording) nwb = NULL;
  gint64 n = 13 * 20000;
  g_autofree float *from_nwb = NULL;
  double max_diff[2] = { 0, 0 };
  guint match = G_MAXUINT;

  if (missing (abf_path) || missing (nwb_path))
    return;
  abf = open_ok (abf_path);
  nwb = open_ok (nwb_path);
  from_nwb = read_range (nwb, 0, 0, n);

  g_assert_cmpuint (imp_recording_get_n_channels (abf), ==, 2);
  g_assert_cmpstr (imp_recording_get_channel (abf, 0)->unit, ==, "pA");
  g_assert_cmpstr (imp_recording_get_channel (abf, 1)->unit, ==, "mV");
  g_assert_cmpfloat (imp_recording_get_sample_rate (abf), ==, 10000.0);
  assert_sweeps (abf, 13, 20000);
  assert_sweeps (nwb, 13, 20000);

  for (guint c = 0; c < 2; c++)
    {
      g_autofree float *from_abf = read_range (abf, c, 0, n);

      for (gint64 i = 0; i < n; i++)
        max_diff[c] = MAX (max_diff[c], fabs (from_abf[i] - from_nwb[i]));
      g_test_message ("ABF channel %u vs NWB: max |diff| %g", c,
                      max_diff[c]);
    }
  for (guint c = 0; c < 2; c++)
    if (max_diff[c] < 1e-3)
      match = c;
  /* Vm matches to float rounding (one count is 0.0305 mV); Imemb does
   * not match at all. */
  g_assert_cmpuint (match, ==, 1);
  g_assert_cmpstr (imp_recording_get_channel (abf, match)->label, ==, "Vm");
  g_assert_cmpfloat (max_diff[0], >, 1.0);
  for (guint w = 0; w < 13; w++)
    g_assert_cmpfloat_with_epsilon (imp_recording_get_sweep (abf, w)->start_s,
                                    3.0 * w, 1e-6);
}

/* Where libbiosig reads a file right, it is an independent reader to
 * check every sample against. */
static void
crosscheck_with_libbiosig (const char *path,
                           double      unit_factor)
{
  g_autoptr(ImpRecording) rec = open_ok (path);
  HDRTYPE *hdr = sopen (path, "r", constructHDR (0, 0));
  gint64 n = imp_recording_get_n_samples (rec);
  guint nch = imp_recording_get_n_channels (rec);
  gsize rows;
  double worst = 0;

  g_assert_nonnull (hdr);
  g_assert_cmpint (hdr->AS.B4C_ERRNUM, ==, B4C_NO_ERROR);
  hdr->FLAG.UCAL = 0;
  hdr->FLAG.ROW_BASED_CHANNELS = 0;
  /* The whole file in one read: the only kind libbiosig 2.5 does safely
   * for episodic ABF 1 files. */
  g_assert_cmpuint (sread (NULL, 0, hdr->NRec, hdr), ==, hdr->NRec);
  rows = hdr->data.size[0];
  g_assert_cmpuint (rows, ==, n);
  g_assert_cmpuint (hdr->data.size[1], ==, nch);

  for (guint c = 0; c < nch; c++)
    {
      g_autofree float *ours = read_range (rec, c, 0, n);

      for (gint64 i = 0; i < n; i++)
        {
          double theirs = hdr->data.block[c * rows + i] * unit_factor;
          double diff = fabs (ours[i] - theirs);

          worst = MAX (worst, diff / (fabs (theirs) + 1e-3));
          if (diff > 1e-5 * fabs (theirs) + 1e-4)
            g_error ("channel %u sample %" G_GINT64_FORMAT ": %g, libbiosig "
                     "%g", c, i, ours[i], theirs);
        }
    }
  g_test_message ("worst relative difference %g", worst);
  sclose (hdr);
  destructHDR (hdr);
}

static void
test_crosscheck_pyr2 (void)
{
  g_autofree char *path = real_file ("abf", "PYR2.abf");

  if (missing (path))
    return;

  crosscheck_with_libbiosig (path, 1.0);
}

static void
test_crosscheck_f1 (void)
{
  g_autofree char *path = real_file ("abf", "f1.abf");

  if (missing (path))
    return;

  crosscheck_with_libbiosig (path, 1.0);
}

static void
test_crosscheck_heka (void)
{
  g_autofree char *path = real_file ("multipatch", "190604s1c2r1.dat");

  if (missing (path))
    return;

  /* libbiosig gives volts, we give mV. */
  crosscheck_with_libbiosig (path, 1000.0);
}

/* HEKA PatchMaster multipatch: 8 cells Vmon-1..8 at 25 kHz in current
 * clamp, int16 at ~3.124e-05 V per count; sweeps of 0.60–0.70 s. The
 * stimulated cell fires 1–2 APs per sweep. */
static void
check_heka (const char *path,
            guint       n_sweeps,
            gint64      n_samples,
            guint       stimulated)
{
  g_autoptr(ImpRecording) rec = open_ok (path);
  gint64 total = 0;

  g_assert_cmpstr (imp_recording_get_format (rec), ==, "HEKA PatchMaster");
  g_assert_cmpuint (imp_recording_get_n_channels (rec), ==, 8);
  g_assert_cmpfloat (imp_recording_get_sample_rate (rec), ==, 25000.0);
  g_assert_cmpint (imp_recording_get_n_samples (rec), ==, n_samples);
  g_assert_cmpuint (imp_recording_get_n_sweeps (rec), ==, n_sweeps);

  for (guint c = 0; c < 8; c++)
    {
      const ImpChannel *ch = imp_recording_get_channel (rec, c);
      g_autofree char *label = g_strdup_printf ("Vmon-%u", c + 1);

      g_assert_cmpstr (ch->label, ==, label);
      g_assert_cmpstr (ch->unit, ==, "mV");
      g_assert_cmpfloat (fabs (ch->gain - 3.124e-02), <, 0.002e-02 * 10);
    }

  for (guint w = 0; w < n_sweeps; w++)
    {
      const ImpSweep *sw = imp_recording_get_sweep (rec, w);
      double seconds = sw->n_samples / 25000.0;
      g_autofree float *v = read_sweep (rec, stimulated, w);
      guint aps = count_crossings (v, sw->n_samples, 0.0f);

      /* "0.60–0.70 s", rounded: 15,050 to 17,600 samples. */
      g_assert_cmpfloat (seconds, >=, 0.595);
      g_assert_cmpfloat (seconds, <=, 0.705);
      g_assert_cmpuint (aps, >=, 1);
      g_assert_cmpuint (aps, <=, 2);
      if (w > 0)
        g_assert_cmpfloat (sw->start_s, >,
                           imp_recording_get_sweep (rec, w - 1)->start_s);
      total += sw->n_samples;
    }
  g_assert_cmpint (total, ==, n_samples);

  /* Cells at rest sit between −80 and −50 mV. */
  for (guint c = 0; c < 8; c++)
    {
      g_autofree float *v = read_sweep (rec, c, 0);
      double rest = median (v, imp_recording_get_sweep (rec, 0)->n_samples);

      g_assert_cmpfloat (rest, >, -80.0);
      g_assert_cmpfloat (rest, <, -50.0);
    }
}

static void
test_heka_c2r1 (void)
{
  g_autofree char *path = real_file ("multipatch", "190604s1c2r1.dat");
  g_autoptr(ImpRecording) rec = NULL;
  static const gint64 lengths[] = {
    15050, 17600, 17600, 17600, 17600, 17600, 17600, 17600, 17600, 17600,
    16500, 16500,
  };

  if (missing (path))
    return;

  /* Series of 1, 9 and 2 sweeps: 12 sweeps, 206,450 samples; cell 2. */
  check_heka (path, 12, 206450, 1);
  rec = open_ok (path);
  for (guint w = 0; w < 12; w++)
    g_assert_cmpint (imp_recording_get_sweep (rec, w)->n_samples, ==,
                     lengths[w]);
}

static void
test_heka_c3r1 (void)
{
  g_autofree char *path = real_file ("multipatch", "190604s1c3r1.dat");

  if (missing (path))
    return;

  /* Series of 1, 10, 1 and 2 sweeps; cell 3 stimulated. */
  check_heka (path, 14, 240850, 2);
}

/* Synthetic ABF files, written here from the layout the ABF
 * documentation gives, with values whose scaled result is known. */

static void
put_i16 (guint8 *b,
         gsize   off,
         gint16  v)
{
  guint16 le = GUINT16_TO_LE ((guint16) v);

  memcpy (b + off, &le, 2);
}

static void
put_i32 (guint8 *b,
         gsize   off,
         gint32  v)
{
  guint32 le = GUINT32_TO_LE ((guint32) v);

  memcpy (b + off, &le, 4);
}

static void
put_i64 (guint8 *b,
         gsize   off,
         gint64  v)
{
  guint64 le = GUINT64_TO_LE ((guint64) v);

  memcpy (b + off, &le, 8);
}

static void
put_f32 (guint8 *b,
         gsize   off,
         float   v)
{
  guint32 bits;

  memcpy (&bits, &v, 4);
  put_i32 (b, off, (gint32) bits);
}

static gint16
synth_count (gint64 s,
             guint  c)
{
  return (gint16) (((s * 13 + c * 7919) % 20001) - 10000);
}

#define A1_CH     2
#define A1_N      3000    /* samples per channel per sweep */
#define A1_SWEEPS 4
#define A1_RATE   10000.0

/* Variants of a synthetic ABF 1 file. Channel 0 samples input 0 (mV),
 * channel 1 samples input 2 (mV, instrument offset 1.5, signal gain 4 and
 * signal offset 0.5); input 1 is a decoy in pA. The expected gains and
 * offsets follow the ABF documentation and Axon's reading library:
 * count × 10 V / 32768 / (instrument scale × programmable gain × signal
 * gain × telegraphed gain) + instrument offset − signal offset, where the
 * signal conditioner counts only if nSignalType names one, and files
 * before ABF 1.6 take the telegraphed gain of their one autosampled input
 * from _nAutosampleADCNum and _fAutosampleAdditGain. */
typedef struct
{
  const char *name;
  float       version;
  gint16      signal_type;
  double      gain[A1_CH];
  double      offset[A1_CH];
} A1Variant;

static const A1Variant a1_variants[] = {
  /* Telegraphed gains 5 and 2 from the per-input arrays; the stale
   * autosample fields (gain 7 on input 0) and, without a conditioner,
   * the signal gain and offset do not count. */
  { "1.83", 1.83f, 0,
    { 10.0 / 32768 / (0.001 * 5.0), 10.0 / 32768 / (0.01 * 2.0) },
    { 0.0, 1.5 } },
  /* A CyberAmp: its gain 4 and offset 0.5 count. */
  { "1.83-cyberamp", 1.83f, 1,
    { 10.0 / 32768 / (0.001 * 5.0), 10.0 / 32768 / (0.01 * 2.0 * 4.0) },
    { 0.0, 1.5 - 0.5 } },
  /* ABF 1.5: a 2,048-byte header without per-input telegraph arrays;
   * the autosampled input 2 has gain 3, input 0 none. */
  { "1.5", 1.5f, 0,
    { 10.0 / 32768 / 0.001, 10.0 / 32768 / (0.01 * 3.0) },
    { 0.0, 1.5 } },
};

static void
put_abf1_string (guint8     *b,
                 gsize       off,
                 gsize       len,
                 const char *value)
{
  memset (b + off, ' ', len);
  memcpy (b + off, value, strlen (value));
}

static gsize
write_abf1_variant (const char      *path,
                    const A1Variant *var)
{
  const gsize header = var->version >= 1.6f ? 6144 : 2048;
  const gsize data_bytes = (gsize) A1_CH * A1_N * A1_SWEEPS * 2;
  const gsize synch_at = header + ((data_bytes + 511) / 512) * 512;
  gsize size = synch_at + 8 * A1_SWEEPS;
  g_autofree guint8 *b = g_malloc0 (size);
  const char *names[3] = { "IN 0", "IN 1", "IN 2" };
  const char *units[3] = { "mV", "pA", "mV" };

  memcpy (b, "ABF ", 4);
  put_f32 (b, 4, var->version);
  put_i16 (b, 8, 5);                                  /* episodic */
  put_i32 (b, 10, A1_CH * A1_N * A1_SWEEPS);
  put_i32 (b, 16, A1_SWEEPS);
  put_f32 (b, 32, var->version);
  put_i32 (b, 40, header / 512);
  put_i32 (b, 92, synch_at / 512);
  put_i32 (b, 96, A1_SWEEPS);
  put_i16 (b, 100, 0);                                /* int16 */
  put_i16 (b, 120, A1_CH);
  put_f32 (b, 122, 1e6 / (A1_RATE * A1_CH));
  put_f32 (b, 130, 12.5f);
  put_i32 (b, 138, A1_CH * A1_N);
  put_f32 (b, 178, 1.0f);
  put_f32 (b, 244, 10.0f);
  put_i32 (b, 252, 32768);
  put_i16 (b, 1410, var->signal_type);
  /* _nAutosampleEnable, _nAutosampleADCNum, _fAutosampleAdditGain. */
  put_i16 (b, 262, 1);
  put_i16 (b, 264, header == 6144 ? 0 : 2);
  put_f32 (b, 268, header == 6144 ? 7.0f : 3.0f);
  for (int i = 0; i < 16; i++)
    {
      put_i16 (b, 378 + 2 * i, i);
      put_i16 (b, 410 + 2 * i, i == 0 ? 0 : i == 1 ? 2 : -1);
      put_f32 (b, 730 + 4 * i, 1.0f);
      put_f32 (b, 922 + 4 * i, 1.0f);
      put_f32 (b, 1050 + 4 * i, 1.0f);
    }
  for (int p = 0; p < 3; p++)
    {
      put_abf1_string (b, 442 + 10 * p, 10, names[p]);
      put_abf1_string (b, 602 + 8 * p, 8, units[p]);
    }
  put_f32 (b, 922 + 0, 0.001f);
  put_f32 (b, 922 + 4, 0.0005f);
  put_f32 (b, 922 + 8, 0.01f);
  put_f32 (b, 986 + 8, 1.5f);                        /* instrument offset */
  put_f32 (b, 1050 + 8, 4.0f);                       /* signal gain */
  put_f32 (b, 1114 + 8, 0.5f);                       /* signal offset */
  if (header == 6144)
    {
      /* nTelegraphEnable and fTelegraphAdditGain by input. */
      for (int i = 0; i < 16; i++)
        put_f32 (b, 4576 + 4 * i, 1.0f);
      put_i16 (b, 4512 + 0, 1);
      put_f32 (b, 4576 + 0, 5.0f);
      put_i16 (b, 4512 + 4, 1);
      put_f32 (b, 4576 + 8, 2.0f);
    }

  for (gint64 s = 0; s < A1_N * A1_SWEEPS; s++)
    for (guint c = 0; c < A1_CH; c++)
      put_i16 (b, header + (s * A1_CH + c) * 2, synth_count (s, c));
  /* Sweeps start 1 s apart: 80,000 ticks of 12.5 µs. */
  for (int w = 0; w < A1_SWEEPS; w++)
    {
      put_i32 (b, synch_at + 8 * w, w * 80000);
      put_i32 (b, synch_at + 8 * w + 4, A1_CH * A1_N);
    }

  g_assert_true (g_file_set_contents (path, (const char *) b, size, NULL));
  return header + data_bytes;
}

static gsize
write_abf1 (const char *path)
{
  return write_abf1_variant (path, &a1_variants[0]);
}

static void
test_synthetic_abf1 (gconstpointer data)
{
  const A1Variant *var = data;
  g_autofree char *name = g_strdup_printf ("synthetic-%s.abf", var->name);
  g_autofree char *path = tmp_file (name);
  g_autofree char *format = g_strdup_printf ("ABF %.2f", var->version);
  g_autoptr(ImpRecording) rec = NULL;

  write_abf1_variant (path, var);
  rec = open_ok (path);
  g_assert_cmpstr (imp_recording_get_format (rec), ==, format);
  g_assert_cmpuint (imp_recording_get_n_channels (rec), ==, A1_CH);
  g_assert_cmpfloat_with_epsilon (imp_recording_get_sample_rate (rec),
                                  A1_RATE, 1e-6);
  assert_sweeps (rec, A1_SWEEPS, A1_N);
  g_assert_cmpstr (imp_recording_get_channel (rec, 0)->label, ==, "IN 0");
  g_assert_cmpstr (imp_recording_get_channel (rec, 1)->label, ==, "IN 2");
  g_assert_cmpstr (imp_recording_get_channel (rec, 1)->unit, ==, "mV");
  for (guint w = 0; w < A1_SWEEPS; w++)
    g_assert_cmpfloat_with_epsilon (imp_recording_get_sweep (rec, w)->start_s,
                                    1.0 * w, 1e-9);

  for (guint c = 0; c < A1_CH; c++)
    {
      g_autofree float *v = read_range (rec, c, 0, A1_N * A1_SWEEPS);
      double gain = var->gain[c];

      g_assert_cmpfloat_with_epsilon (imp_recording_get_channel (rec, c)->gain,
                                      gain, gain * 1e-6);
      g_assert_cmpfloat_with_epsilon (
        imp_recording_get_channel (rec, c)->offset, var->offset[c], 1e-6);
      for (gint64 s = 0; s < A1_N * A1_SWEEPS; s++)
        {
          double want = synth_count (s, c) * gain + var->offset[c];

          g_assert_cmpfloat_with_epsilon (v[s], want,
                                          fabs (want) * 1e-6 + 1e-6);
        }
    }
}

#define A2_N      5000
#define A2_SWEEPS 3
#define A2_RATE   20000.0

/* One input (mV, telegraphed gain 2, signal gain 4, instrument offset 1.5,
 * signal offset 0.5); the signal conditioner counts only with
 * nSignalType ≠ 0, as in ABF 1. */
static double
a2_gain (gboolean conditioned)
{
  return 10.0 / 32768 / (0.01 * 2.0 * (conditioned ? 4.0 : 1.0));
}

static double
a2_offset (gboolean conditioned)
{
  return 1.5 - (conditioned ? 0.5 : 0.0);
}

static gsize
write_abf2_variant (const char *path,
                    gboolean    conditioned)
{
  static const char strings[] = "Clampex\0proto.pro\0Imprint test\0IN 0\0mV";
  const gsize data_at = 4 * 512;
  const gsize data_bytes = (gsize) A2_N * A2_SWEEPS * 2;
  const gsize synch_at = data_at + ((data_bytes + 511) / 512) * 512;
  gsize size = synch_at + 8 * A2_SWEEPS;
  g_autofree guint8 *b = g_malloc0 (size);
  guint8 *proto = b + 512;
  guint8 *adc = b + 1024;
  guint8 *str = b + 1536;

  memcpy (b, "ABF2", 4);
  b[4] = 0; b[5] = 0; b[6] = 6; b[7] = 2;           /* version 2.6 */
  put_i32 (b, 8, 512);
  put_i32 (b, 12, A2_SWEEPS);
  put_i16 (b, 30, 0);
  /* Section table: block, bytes, entries. */
  put_i32 (b, 76, 1);  put_i32 (b, 80, 512); put_i64 (b, 84, 1);
  put_i32 (b, 92, 2);  put_i32 (b, 96, 128); put_i64 (b, 100, 1);
  put_i32 (b, 76 + 16 * 9, 3);
  put_i32 (b, 80 + 16 * 9, 44 + sizeof strings);
  put_i64 (b, 84 + 16 * 9, 5);
  put_i32 (b, 76 + 16 * 10, data_at / 512);
  put_i32 (b, 80 + 16 * 10, 2);
  put_i64 (b, 84 + 16 * 10, (gint64) A2_N * A2_SWEEPS);
  put_i32 (b, 76 + 16 * 15, synch_at / 512);
  put_i32 (b, 80 + 16 * 15, 8);
  put_i64 (b, 84 + 16 * 15, A2_SWEEPS);

  put_i16 (proto, 0, 5);                              /* episodic */
  put_f32 (proto, 2, 1e6 / A2_RATE);
  put_f32 (proto, 14, 12.5f);
  put_i32 (proto, 22, A2_N);
  put_f32 (proto, 62, 2.5f);
  put_f32 (proto, 110, 10.0f);
  put_i32 (proto, 118, 32768);
  put_i16 (proto, 138, conditioned ? 1 : 0);          /* nSignalType */

  put_i16 (adc, 0, 0);
  put_i16 (adc, 2, 1);                                /* telegraph on */
  put_f32 (adc, 6, 2.0f);
  put_f32 (adc, 28, 1.0f);
  put_f32 (adc, 40, 0.01f);
  put_f32 (adc, 44, 1.5f);                            /* instrument offset */
  put_f32 (adc, 48, 4.0f);                            /* signal gain */
  put_f32 (adc, 52, 0.5f);                            /* signal offset */
  put_i32 (adc, 74, 4);
  put_i32 (adc, 78, 5);

  memcpy (str, "SSCH", 4);
  put_i32 (str, 4, 1);
  put_i32 (str, 8, 5);
  memcpy (str + 44, strings, sizeof strings);

  for (gint64 s = 0; s < A2_N * A2_SWEEPS; s++)
    put_i16 (b, data_at + s * 2, synth_count (s, 0));
  /* Sweeps 2.5 s apart: 200,000 ticks of 12.5 µs. */
  for (int w = 0; w < A2_SWEEPS; w++)
    {
      put_i32 (b, synch_at + 8 * w, w * 200000);
      put_i32 (b, synch_at + 8 * w + 4, A2_N);
    }

  g_assert_true (g_file_set_contents (path, (const char *) b, size, NULL));
  return data_at + data_bytes;
}

static gsize
write_abf2 (const char *path)
{
  return write_abf2_variant (path, FALSE);
}

static void
test_synthetic_abf2 (gconstpointer data)
{
  gboolean conditioned = GPOINTER_TO_INT (data);
  g_autofree char *path = tmp_file (conditioned ? "synthetic2-cyberamp.abf"
                                                : "synthetic2.abf");
  g_autoptr(ImpRecording) rec = NULL;
  g_autofree float *v = NULL;
  double gain = a2_gain (conditioned);
  double offset = a2_offset (conditioned);

  write_abf2_variant (path, conditioned);
  rec = open_ok (path);
  g_assert_cmpstr (imp_recording_get_format (rec), ==, "ABF 2.60");
  g_assert_cmpuint (imp_recording_get_n_channels (rec), ==, 1);
  g_assert_cmpfloat (imp_recording_get_sample_rate (rec), ==, A2_RATE);
  assert_sweeps (rec, A2_SWEEPS, A2_N);
  g_assert_cmpstr (imp_recording_get_channel (rec, 0)->label, ==, "IN 0");
  g_assert_cmpstr (imp_recording_get_channel (rec, 0)->unit, ==, "mV");
  for (guint w = 0; w < A2_SWEEPS; w++)
    g_assert_cmpfloat_with_epsilon (imp_recording_get_sweep (rec, w)->start_s,
                                    2.5 * w, 1e-9);

  v = read_range (rec, 0, 0, A2_N * A2_SWEEPS);
  for (gint64 s = 0; s < A2_N * A2_SWEEPS; s++)
    {
      double want = synth_count (s, 0) * gain + offset;

      g_assert_cmpfloat_with_epsilon (v[s], want, fabs (want) * 1e-6 + 1e-6);
    }
  /* A short read in the middle of a sweep. */
  g_free (v);
  v = read_range (rec, 0, 7321, 5);
  for (gint64 s = 0; s < 5; s++)
    g_assert_cmpfloat_with_epsilon (v[s],
                                    synth_count (7321 + s, 0) * gain + offset,
                                    1e-4);
}

/* Damaged files: refused with a message that names the problem. */

static void
expect_refused (const char *path,
                int         code,
                const char *words)
{
  g_autoptr(GError) error = NULL;
  ImpRecording *rec = imp_recording_open (path, &error);

  g_assert_null (rec);
  g_assert_nonnull (error);
  g_test_message ("%s", error->message);
  g_assert_error (error, IMP_RECORDING_ERROR, code);
  if (words != NULL)
    g_assert_nonnull (strstr (error->message, words));
}

static void
test_truncated_abf1 (void)
{
  g_autofree char *path = tmp_file ("cut1.abf");
  gsize end = write_abf1 (path);

  g_assert_cmpint (truncate (path, end - 1000), ==, 0);
  expect_refused (path, IMP_RECORDING_ERROR_MALFORMED, "truncated");
  g_assert_cmpint (truncate (path, 1000), ==, 0);
  expect_refused (path, IMP_RECORDING_ERROR_MALFORMED, "truncated");
}

static void
test_truncated_abf2 (void)
{
  g_autofree char *path = tmp_file ("cut2.abf");
  gsize end = write_abf2 (path);

  g_assert_cmpint (truncate (path, end / 2), ==, 0);
  expect_refused (path, IMP_RECORDING_ERROR_MALFORMED, "truncated");
  g_assert_cmpint (truncate (path, 700), ==, 0);
  expect_refused (path, IMP_RECORDING_ERROR_MALFORMED, "truncated");
}

static char *
copy_truncated (const char *src,
                const char *name,
                double      fraction)
{
  g_autofree char *contents = NULL;
  gsize len;
  char *dst = tmp_file (name);

  g_assert_true (g_file_get_contents (src, &contents, &len, NULL));
  g_assert_true (g_file_set_contents (dst, contents, (gssize) (len * fraction),
                                      NULL));
  return dst;
}

static void
test_truncated_real (void)
{
  g_autofree char *opto = real_file ("abf", "opto_aps_good_units.abf");
  g_autofree char *pyr2 = real_file ("abf", "PYR2.abf");
  g_autofree char *heka = real_file ("multipatch", "190604s1c2r1.dat");
  g_autofree char *cut_opto = NULL;
  g_autofree char *cut_pyr2 = NULL;
  g_autofree char *cut_heka = NULL;

  if (missing (opto) || missing (pyr2) || missing (heka))
    return;
  cut_opto = copy_truncated (opto, "opto-cut.abf", 0.5);
  cut_pyr2 = copy_truncated (pyr2, "pyr2-cut.abf", 0.9);
  cut_heka = copy_truncated (heka, "heka-cut.dat", 0.97);

  expect_refused (cut_opto, IMP_RECORDING_ERROR_MALFORMED, "truncated");
  expect_refused (cut_pyr2, IMP_RECORDING_ERROR_MALFORMED, "truncated");
  expect_refused (cut_heka, IMP_RECORDING_ERROR_MALFORMED, "libbiosig");
}

static void
test_garbage (void)
{
  g_autofree char *noise = tmp_file ("noise.dat");
  g_autofree char *fake = tmp_file ("fake.abf");
  g_autofree char *text = tmp_file ("text.abf");
  g_autofree guint8 *bytes = g_new (guint8, 65536);
  GRand *rand = g_rand_new_with_seed (7);

  for (guint i = 0; i < 65536; i++)
    bytes[i] = (guint8) g_rand_int_range (rand, 0, 256);
  g_rand_free (rand);

  g_assert_true (g_file_set_contents (noise, (const char *) bytes + 4, 65532,
                                      NULL));
  expect_refused (noise, IMP_RECORDING_ERROR_UNKNOWN_FORMAT, NULL);

  /* An ABF signature in front of noise. */
  memcpy (bytes, "ABF2", 4);
  g_assert_true (g_file_set_contents (fake, (const char *) bytes, 65536,
                                      NULL));
  expect_refused (fake, IMP_RECORDING_ERROR_MALFORMED, "ABF");
  memcpy (bytes, "ABF ", 4);
  g_assert_true (g_file_set_contents (fake, (const char *) bytes, 65536,
                                      NULL));
  expect_refused (fake, IMP_RECORDING_ERROR_MALFORMED, "ABF");

  g_assert_true (g_file_set_contents (text, "time,value\n0,1\n1,2\n", -1,
                                      NULL));
  expect_refused (text, IMP_RECORDING_ERROR_UNKNOWN_FORMAT, NULL);
}

/* Header fields damaged one at a time in the synthetic ABF 1 file (and
 * three in the ABF 2 file): each is refused with a message naming it. */

typedef enum
{
  FIELD_I16,
  FIELD_I32,
  FIELD_F32,
  FIELD_U8,
} FieldType;

typedef struct
{
  const char *name;
  gboolean    abf2;
  gsize       offset;
  FieldType   type;
  double      value;
  int         code;
  const char *words;
} HeaderDamage;

static const HeaderDamage header_damages[] = {
  { "data-pointer-zero", FALSE, 40, FIELD_I32, 0,
    IMP_RECORDING_ERROR_MALFORMED,
    "its data section starts at byte 0, inside the 6144-byte header" },
  { "data-pointer-negative", FALSE, 40, FIELD_I32, -3,
    IMP_RECORDING_ERROR_MALFORMED, "data section pointer is negative" },
  { "data-format", FALSE, 100, FIELD_I16, 7, IMP_RECORDING_ERROR_MALFORMED,
    "its sample format (nDataFormat) is 7" },
  { "version-9", FALSE, 4, FIELD_F32, 9.0, IMP_RECORDING_ERROR_MALFORMED,
    "file version 9, which is not an ABF 1 version" },
  { "version-nan", FALSE, 4, FIELD_F32, NAN, IMP_RECORDING_ERROR_MALFORMED,
    "file version nan" },
  { "mode-99", FALSE, 8, FIELD_I16, 99, IMP_RECORDING_ERROR_MALFORMED,
    "its operation mode (nOperationMode) is 99" },
  { "interval-inf", FALSE, 122, FIELD_F32, INFINITY,
    IMP_RECORDING_ERROR_NO_RATE,
    "sample interval of inf µs; it must be a positive, finite time" },
  { "interval-huge", FALSE, 122, FIELD_F32, 1e30,
    IMP_RECORDING_ERROR_NO_RATE, "Hz is absurd (below 1 Hz)" },
  /* A tiny instrument scale factor: 1e37 pA per count. */
  { "scale-tiny", FALSE, 922, FIELD_F32, 1e-36,
    IMP_RECORDING_ERROR_MALFORMED,
    "Channel 0 (“IN 0”) would read values up to" },
  { "abf2-version", TRUE, 7, FIELD_U8, 3, IMP_RECORDING_ERROR_MALFORMED,
    "file version 3.600, which is not an ABF 2 version" },
  { "abf2-data-format", TRUE, 30, FIELD_I16, 7,
    IMP_RECORDING_ERROR_MALFORMED, "nDataFormat) is 7" },
  { "abf2-mode", TRUE, 512, FIELD_I16, 99, IMP_RECORDING_ERROR_MALFORMED,
    "nOperationMode) is 99" },
};

/* Writes @len bytes at @offset of the file @path. */
static void
patch_file (const char *path,
            gsize       offset,
            const void *bytes,
            gsize       len)
{
  g_autofree char *contents = NULL;
  gsize size;

  g_assert_true (g_file_get_contents (path, &contents, &size, NULL));
  g_assert_cmpuint (offset + len, <=, size);
  memcpy (contents + offset, bytes, len);
  g_assert_true (g_file_set_contents (path, contents, size, NULL));
}

static void
patch_field (const char *path,
             gsize       offset,
             FieldType   type,
             double      value)
{
  guint8 b[4];

  switch (type)
    {
    case FIELD_I16:
      put_i16 (b, 0, (gint16) value);
      patch_file (path, offset, b, 2);
      break;
    case FIELD_I32:
      put_i32 (b, 0, (gint32) value);
      patch_file (path, offset, b, 4);
      break;
    case FIELD_F32:
      put_f32 (b, 0, (float) value);
      patch_file (path, offset, b, 4);
      break;
    case FIELD_U8:
    default:
      b[0] = (guint8) value;
      patch_file (path, offset, b, 1);
      break;
    }
}

static void
test_header_damage (gconstpointer data)
{
  const HeaderDamage *hd = data;
  g_autofree char *name = g_strdup_printf ("damaged-%s.abf", hd->name);
  g_autofree char *path = tmp_file (name);

  if (hd->abf2)
    write_abf2 (path);
  else
    write_abf1 (path);
  patch_field (path, hd->offset, hd->type, hd->value);
  expect_refused (path, hd->code, hd->words);
}

/* lActualEpisodes of -1 made libbiosig allocate until the kernel killed
 * it; 0 made every open wait 30 s and read one long sweep. The count is
 * repaired from the data, said, and libbiosig is not asked. */
static void
test_episodes_repaired (void)
{
  static const gint32 counts[] = { -1, 0, 1000000 };

  for (guint i = 0; i < G_N_ELEMENTS (counts); i++)
    {
      g_autofree char *name = g_strdup_printf ("episodes-%d.abf", counts[i]);
      g_autofree char *path = tmp_file (name);
      g_autofree char *words = g_strdup_printf ("gives %d sweeps, but its "
                                                "data hold %d sweeps of %d "
                                                "samples", counts[i],
                                                A1_SWEEPS, A1_N);
      g_autoptr(ImpRecording) rec = NULL;
      g_autofree float *v = NULL;
      gint64 t0;

      write_abf1 (path);
      patch_field (path, 16, FIELD_I32, counts[i]);
      t0 = g_get_monotonic_time ();
      rec = open_ok (path);
      g_assert_cmpint (g_get_monotonic_time () - t0, <, 5 * G_USEC_PER_SEC);
      assert_sweeps (rec, A1_SWEEPS, A1_N);
      g_assert_nonnull (imp_recording_get_warning (rec));
      g_assert_nonnull (strstr (imp_recording_get_warning (rec), words));
      /* The synch array still gives the start times. */
      g_assert_cmpfloat_with_epsilon (imp_recording_get_sweep (rec, 3)->start_s,
                                      3.0, 1e-9);
      v = read_range (rec, 0, 0, A1_N * A1_SWEEPS);
      for (gint64 s = 0; s < A1_N * A1_SWEEPS; s += 997)
        g_assert_cmpfloat_with_epsilon (v[s], synth_count (s, 0)
                                              * a1_variants[0].gain[0],
                                        1e-4);
    }
}

/* Axon's programs write names and units in the Windows code page: "µV"
 * is the byte 0xB5 and "é" 0xE9. They become UTF-8, and µV is micro. */
static void
test_legacy_text (void)
{
  g_autofree char *path = tmp_file ("latin1.abf");
  g_autoptr(ImpRecording) rec = NULL;
  const ImpChannel *ch;

  write_abf1 (path);
  patch_file (path, 442, "C\xe9llule  ", 10);
  patch_file (path, 602, "\xb5V      ", 8);
  rec = open_ok (path);
  ch = imp_recording_get_channel (rec, 0);
  g_assert_cmpstr (ch->label, ==, "Céllule");
  g_assert_cmpstr (ch->unit, ==, "mV");
  g_assert_cmpfloat_with_epsilon (ch->gain, a1_variants[0].gain[0] * 1e-3,
                                  a1_variants[0].gain[0] * 1e-9);
}

static void
remove_tmpdir (void)
{
  g_autoptr(GDir) dir = g_dir_open (tmpdir, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = tmp_file (name);

      g_unlink (path);
    }
  g_rmdir (tmpdir);
}

int
main (int   argc,
      char *argv[])
{
  int ret;

  g_test_init (&argc, &argv, NULL);
  tmpdir = g_dir_make_tmp ("imp-biosig-XXXXXX", NULL);

  g_test_add_func ("/imp/Biosig/abf/f1", test_abf_f1);
  g_test_add_func ("/imp/Biosig/abf/17o05026", test_abf_17o05026);
  g_test_add_func ("/imp/Biosig/abf/opto", test_abf_opto);
  g_test_add_func ("/imp/Biosig/abf/190619B", test_abf_190619b);
  g_test_add_func ("/imp/Biosig/abf/pyr2-vs-nwb", test_abf_pyr2_vs_nwb);
  g_test_add_func ("/imp/Biosig/crosscheck/pyr2", test_crosscheck_pyr2);
  g_test_add_func ("/imp/Biosig/crosscheck/f1", test_crosscheck_f1);
  g_test_add_func ("/imp/Biosig/crosscheck/heka", test_crosscheck_heka);
  g_test_add_func ("/imp/Biosig/heka/c2r1", test_heka_c2r1);
  g_test_add_func ("/imp/Biosig/heka/c3r1", test_heka_c3r1);
  for (guint i = 0; i < G_N_ELEMENTS (a1_variants); i++)
    {
      g_autofree char *test_path =
        g_strdup_printf ("/imp/Biosig/synthetic/abf1/%s",
                         a1_variants[i].name);

      g_test_add_data_func (test_path, &a1_variants[i], test_synthetic_abf1);
    }
  g_test_add_data_func ("/imp/Biosig/synthetic/abf2", GINT_TO_POINTER (FALSE),
                        test_synthetic_abf2);
  g_test_add_data_func ("/imp/Biosig/synthetic/abf2-cyberamp",
                        GINT_TO_POINTER (TRUE), test_synthetic_abf2);
  g_test_add_func ("/imp/Biosig/malformed/truncated-abf1",
                   test_truncated_abf1);
  g_test_add_func ("/imp/Biosig/malformed/truncated-abf2",
                   test_truncated_abf2);
  g_test_add_func ("/imp/Biosig/malformed/truncated-real",
                   test_truncated_real);
  g_test_add_func ("/imp/Biosig/malformed/garbage", test_garbage);
  for (guint i = 0; i < G_N_ELEMENTS (header_damages); i++)
    {
      g_autofree char *test_path =
        g_strdup_printf ("/imp/Biosig/malformed/%s", header_damages[i].name);

      g_test_add_data_func (test_path, &header_damages[i],
                            test_header_damage);
    }
  g_test_add_func ("/imp/Biosig/repaired/episodes", test_episodes_repaired);
  g_test_add_func ("/imp/Biosig/legacy-text", test_legacy_text);

  ret = g_test_run ();
  remove_tmpdir ();
  g_free (tmpdir);

  return ret;
}
