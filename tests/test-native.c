/* test-native.c
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include <hdf5.h>

#include "imp-native.h"
#include "imp-recording.h"

#define N_CH      70      /* more than one 64-channel chunk column */
#define N_SAMP    20000   /* more than two 8192-sample chunk rows */
#define RATE      20000.0

static char *tmpdir;

static char *
tmp_file (const char *name)
{
  return g_build_filename (tmpdir, name, NULL);
}

/* The count written at (sample s, channel c): a ramp that wraps through
 * the whole int16 range, different on every channel. */
static gint16
ramp_count (gint64 s,
            guint  c)
{
  return (gint16) ((s * 7 + c * 131) % 65536 - 32768);
}

/* Channel c's unit as written, its gain and offset, and the factor that
 * takes the written unit to the one Imprint shows. */
static void
channel_spec (guint        c,
              const char **unit,
              double      *gain,
              double      *offset,
              double      *factor)
{
  switch (c % 4)
    {
    case 0:
      *unit = "V";        /* shown in mV */
      *gain = 3.0e-6;
      *offset = -0.01;
      *factor = 1000.0;
      break;
    case 1:
      *unit = "mV";
      *gain = 0.05;
      *offset = 2.5;
      *factor = 1.0;
      break;
    case 2:
      *unit = "nA";       /* shown in pA */
      *gain = 1.0e-3;
      *offset = 0.0;
      *factor = 1000.0;
      break;
    default:
      *unit = "uV";       /* shown in mV */
      *gain = 0.195;
      *offset = 0.0;
      *factor = 0.001;
      break;
    }
}

static const char *expected_units[] = { "mV", "mV", "pA", "mV" };

static void
write_ramp_file (const char *path,
                 gboolean    with_sweeps)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ImpNativeWriter) writer = NULL;
  g_autofree gint16 *block = NULL;
  /* Odd block sizes so appends straddle chunk boundaries. */
  static const gint64 blocks[] = { 1, 999, 8192, 5000, 5808 };
  gint64 s0 = 0;

  writer = imp_native_writer_new (path, N_CH, RATE, &error);
  g_assert_no_error (error);
  g_assert_nonnull (writer);

  for (guint c = 0; c < N_CH; c++)
    {
      g_autofree char *label = g_strdup_printf ("E%02u", c);
      const char *unit;
      double gain, offset, factor;

      channel_spec (c, &unit, &gain, &offset, &factor);
      imp_native_writer_set_channel (writer, c, label, unit, gain, offset,
                                     30.0 * (c % 8), 30.0 * (c / 8),
                                     (ImpAccess) (c % 4));
    }

  block = g_new (gint16, 8192 * N_CH);
  for (guint b = 0; b < G_N_ELEMENTS (blocks); b++)
    {
      for (gint64 s = 0; s < blocks[b]; s++)
        for (guint c = 0; c < N_CH; c++)
          block[s * N_CH + c] = ramp_count (s0 + s, c);
      g_assert_true (imp_native_writer_append (writer, block, blocks[b],
                                               &error));
      g_assert_no_error (error);
      s0 += blocks[b];
    }
  g_assert_cmpint (s0, ==, N_SAMP);

  if (with_sweeps)
    {
      imp_native_writer_add_sweep (writer, 4000, 0.0);
      imp_native_writer_add_sweep (writer, 10000, 5.0);
      imp_native_writer_add_sweep (writer, 6000, 12.5);
    }
  imp_native_writer_set_attribute (writer, "simulator_seed", "12345");
  imp_native_writer_set_attribute (writer, "note", "ramp µ test");
  /* Longer than the 64 KiB an attribute's own storage may hold. */
  {
    g_autoptr(GString) big = g_string_new (NULL);

    for (guint i = 0; i < 20000; i++)
      g_string_append_printf (big, "%u ", i);
    imp_native_writer_set_attribute (writer, "big", big->str);
  }

  /* Nothing is visible at the final path before close. */
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
  g_assert_true (imp_native_writer_close (writer, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_test (path, G_FILE_TEST_EXISTS));
}

static void
test_roundtrip (void)
{
  g_autofree char *path = tmp_file ("ramp.h5");
  g_autoptr(GError) error = NULL;
  g_autoptr(ImpRecording) rec = NULL;
  g_autofree float *out = NULL;

  write_ramp_file (path, TRUE);
  rec = imp_recording_open (path, &error);
  g_assert_no_error (error);
  g_assert_nonnull (rec);

  g_assert_cmpstr (imp_recording_get_format (rec), ==, "Imprint native v1");
  g_assert_cmpuint (imp_recording_get_n_channels (rec), ==, N_CH);
  g_assert_cmpint (imp_recording_get_n_samples (rec), ==, N_SAMP);
  g_assert_cmpfloat (imp_recording_get_sample_rate (rec), ==, RATE);
  g_assert_cmpfloat_with_epsilon (imp_recording_get_duration (rec),
                                  N_SAMP / RATE, 1e-12);
  g_assert_null (imp_recording_get_warning (rec));
  g_assert_cmpstr (imp_recording_get_attribute (rec, "simulator_seed"), ==,
                   "12345");
  g_assert_cmpstr (imp_recording_get_attribute (rec, "note"), ==,
                   "ramp µ test");
  g_assert_null (imp_recording_get_attribute (rec, "nothing"));
  g_assert_cmpuint (strlen (imp_recording_get_attribute (rec, "big")), ==,
                    108890);
  g_assert_true (g_str_has_suffix (imp_recording_get_attribute (rec, "big"),
                                   " 19998 19999 "));

  g_assert_cmpuint (imp_recording_get_n_sweeps (rec), ==, 3);
  g_assert_cmpint (imp_recording_get_sweep (rec, 1)->start_sample, ==, 4000);
  g_assert_cmpint (imp_recording_get_sweep (rec, 1)->n_samples, ==, 10000);
  g_assert_cmpfloat (imp_recording_get_sweep (rec, 1)->start_s, ==, 5.0);
  g_assert_cmpint (imp_recording_get_sweep (rec, 2)->start_sample, ==, 14000);
  g_assert_cmpfloat (imp_recording_get_sweep (rec, 2)->start_s, ==, 12.5);
  g_assert_cmpuint (imp_recording_sweep_at (rec, 0), ==, 0);
  g_assert_cmpuint (imp_recording_sweep_at (rec, 3999), ==, 0);
  g_assert_cmpuint (imp_recording_sweep_at (rec, 4000), ==, 1);
  g_assert_cmpuint (imp_recording_sweep_at (rec, 13999), ==, 1);
  g_assert_cmpuint (imp_recording_sweep_at (rec, 14000), ==, 2);
  g_assert_cmpuint (imp_recording_sweep_at (rec, N_SAMP - 1), ==, 2);

  for (guint c = 0; c < N_CH; c++)
    {
      const ImpChannel *ch = imp_recording_get_channel (rec, c);
      g_autofree char *label = g_strdup_printf ("E%02u", c);
      const char *unit;
      double gain, offset, factor;

      channel_spec (c, &unit, &gain, &offset, &factor);
      g_assert_cmpstr (ch->label, ==, label);
      g_assert_cmpstr (ch->unit, ==, expected_units[c % 4]);
      g_assert_cmpfloat_with_epsilon (ch->gain, gain * factor,
                                      fabs (gain * factor) * 1e-12);
      g_assert_true (ch->has_position);
      g_assert_cmpfloat (ch->x_um, ==, 30.0 * (c % 8));
      g_assert_cmpfloat (ch->y_um, ==, 30.0 * (c / 8));
      g_assert_cmpint (ch->access, ==, (int) (c % 4));
    }

  /* The whole recording, then a window crossing chunk rows and columns. */
  out = g_new (float, (gsize) N_CH * N_SAMP);
  g_assert_true (imp_recording_read (rec, 0, N_CH, 0, N_SAMP, out, &error));
  g_assert_no_error (error);
  for (guint c = 0; c < N_CH; c++)
    {
      const char *unit;
      double gain, offset, factor;

      channel_spec (c, &unit, &gain, &offset, &factor);
      for (gint64 s = 0; s < N_SAMP; s++)
        {
          double want = (ramp_count (s, c) * gain + offset) * factor;

          g_assert_cmpfloat_with_epsilon (out[c * N_SAMP + s], want,
                                          fabs (want) * 1e-6 + 1e-6);
        }
    }

  g_assert_true (imp_recording_read (rec, 60, 10, 8000, 500, out, &error));
  g_assert_no_error (error);
  for (guint c = 0; c < 10; c++)
    {
      const char *unit;
      double gain, offset, factor;

      channel_spec (60 + c, &unit, &gain, &offset, &factor);
      for (gint64 s = 0; s < 500; s++)
        {
          double want = (ramp_count (8000 + s, 60 + c) * gain + offset)
                        * factor;

          g_assert_cmpfloat_with_epsilon (out[c * 500 + s], want,
                                          fabs (want) * 1e-6 + 1e-6);
        }
    }
}

/* A sine of known amplitude, in V, read back in mV. */
static void
test_sine (void)
{
  g_autofree char *path = tmp_file ("sine.h5");
  g_autoptr(GError) error = NULL;
  g_autoptr(ImpNativeWriter) writer = NULL;
  g_autoptr(ImpRecording) rec = NULL;
  const gint64 n = 10000;
  const double rate = 10000.0;
  const double gain = 1.0e-5;     /* V per count */
  g_autofree gint16 *counts = g_new (gint16, n);
  g_autofree float *out = g_new (float, n);
  double max_err = 0.0;

  for (gint64 s = 0; s < n; s++)
    counts[s] = (gint16) lrint (30000.0 * sin (2 * G_PI * 50.0 * s / rate));

  writer = imp_native_writer_new (path, 1, rate, &error);
  g_assert_no_error (error);
  imp_native_writer_set_channel (writer, 0, "Vm", "V", gain, 0.0,
                                 NAN, NAN, IMP_ACCESS_INTRACELLULAR);
  g_assert_true (imp_native_writer_append (writer, counts, n, &error));
  g_assert_true (imp_native_writer_close (writer, &error));
  g_assert_no_error (error);

  rec = imp_recording_open (path, &error);
  g_assert_no_error (error);
  g_assert_false (imp_recording_get_channel (rec, 0)->has_position);
  g_assert_cmpuint (imp_recording_get_n_sweeps (rec), ==, 1);
  g_assert_cmpint (imp_recording_get_sweep (rec, 0)->n_samples, ==, n);
  g_assert_true (imp_recording_read (rec, 0, 1, 0, n, out, &error));
  g_assert_no_error (error);
  /* 30000 counts × 1e-5 V = 0.3 V = 300 mV amplitude; quantisation of
   * half a count is 0.005 mV. */
  for (gint64 s = 0; s < n; s++)
    max_err = MAX (max_err, fabs (out[s] - 300.0 * sin (2 * G_PI * 50.0
                                                        * s / rate)));
  g_assert_cmpfloat (max_err, <=, 0.0051);
}

static void
test_range (void)
{
  g_autofree char *path = tmp_file ("range.h5");
  g_autoptr(GError) error = NULL;
  g_autoptr(ImpRecording) rec = NULL;
  float out[16];

  write_ramp_file (path, FALSE);
  rec = imp_recording_open (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (imp_recording_get_n_sweeps (rec), ==, 1);

  g_assert_false (imp_recording_read (rec, 0, 1, N_SAMP - 2, 4, out,
                                      &error));
  g_assert_error (error, IMP_RECORDING_ERROR, IMP_RECORDING_ERROR_RANGE);
  g_clear_error (&error);
  g_assert_false (imp_recording_read (rec, N_CH - 1, 2, 0, 4, out, &error));
  g_assert_error (error, IMP_RECORDING_ERROR, IMP_RECORDING_ERROR_RANGE);
  g_clear_error (&error);
  g_assert_false (imp_recording_read (rec, 0, 1, -1, 4, out, &error));
  g_assert_error (error, IMP_RECORDING_ERROR, IMP_RECORDING_ERROR_RANGE);
  g_clear_error (&error);
  g_assert_false (imp_recording_read (rec, G_MAXUINT, 2, 0, 4, out,
                                      &error));
  g_assert_error (error, IMP_RECORDING_ERROR, IMP_RECORDING_ERROR_RANGE);
  g_clear_error (&error);
  /* The very last sample is fine. */
  g_assert_true (imp_recording_read (rec, N_CH - 1, 1, N_SAMP - 1, 1, out,
                                     &error));
  g_assert_no_error (error);
}

static void
test_writer_refuses (void)
{
  g_autofree char *path = tmp_file ("refused.h5");
  g_autoptr(GError) error = NULL;
  ImpNativeWriter *writer;
  gint16 counts[4] = { 1, 2, 3, 4 };

  writer = imp_native_writer_new (path, 0, 1000.0, &error);
  g_assert_null (writer);
  g_assert_error (error, IMP_RECORDING_ERROR, IMP_RECORDING_ERROR_MALFORMED);
  g_clear_error (&error);

  writer = imp_native_writer_new (path, 1, 0.0, &error);
  g_assert_null (writer);
  g_assert_error (error, IMP_RECORDING_ERROR, IMP_RECORDING_ERROR_NO_RATE);
  g_clear_error (&error);

  writer = imp_native_writer_new (path, 1, NAN, &error);
  g_assert_null (writer);
  g_assert_error (error, IMP_RECORDING_ERROR, IMP_RECORDING_ERROR_NO_RATE);
  g_clear_error (&error);

  /* A NaN gain is refused at close and nothing is left behind. */
  writer = imp_native_writer_new (path, 1, 1000.0, &error);
  g_assert_no_error (error);
  imp_native_writer_set_channel (writer, 0, "a", "mV", NAN, 0.0,
                                 NAN, NAN, IMP_ACCESS_UNKNOWN);
  g_assert_true (imp_native_writer_append (writer, counts, 4, &error));
  g_assert_false (imp_native_writer_close (writer, &error));
  g_assert_error (error, IMP_RECORDING_ERROR, IMP_RECORDING_ERROR_MALFORMED);
  g_assert_nonnull (strstr (error->message, "gain"));
  g_clear_error (&error);
  imp_native_writer_free (writer);
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));

  /* Sweeps that do not cover the samples. */
  writer = imp_native_writer_new (path, 1, 1000.0, &error);
  g_assert_no_error (error);
  imp_native_writer_set_channel (writer, 0, "a", "mV", 1.0, 0.0,
                                 NAN, NAN, IMP_ACCESS_UNKNOWN);
  g_assert_true (imp_native_writer_append (writer, counts, 4, &error));
  imp_native_writer_add_sweep (writer, 3, 0.0);
  g_assert_false (imp_native_writer_close (writer, &error));
  g_assert_error (error, IMP_RECORDING_ERROR, IMP_RECORDING_ERROR_MALFORMED);
  g_clear_error (&error);
  imp_native_writer_free (writer);
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));

  /* Abandoned without close: no file, no temporary left. */
  writer = imp_native_writer_new (path, 1, 1000.0, &error);
  g_assert_no_error (error);
  g_assert_true (imp_native_writer_append (writer, counts, 4, &error));
  imp_native_writer_free (writer);
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
  {
    g_autoptr(GDir) dir = g_dir_open (tmpdir, 0, NULL);
    const char *name;

    while ((name = g_dir_read_name (dir)) != NULL)
      g_assert_false (g_str_has_prefix (name, "refused.h5"));
  }
}

/* Malformed files: each starts as a valid file that is then damaged with
 * plain HDF5 calls (or truncate()), and must be refused with a message
 * that names the problem. */

typedef void (*Damage) (hid_t file);

static void
damage_no_rate (hid_t file)
{
  g_assert_cmpint (H5Adelete (file, "sample_rate_hz"), >=, 0);
}

static void
set_rate (hid_t  file,
          double rate)
{
  hid_t attr = H5Aopen (file, "sample_rate_hz", H5P_DEFAULT);

  g_assert_cmpint (attr, >=, 0);
  g_assert_cmpint (H5Awrite (attr, H5T_NATIVE_DOUBLE, &rate), >=, 0);
  H5Aclose (attr);
}

static void
damage_rate_zero (hid_t file)
{
  set_rate (file, 0.0);
}

static void
damage_rate_absurd (hid_t file)
{
  set_rate (file, 1.0e9);
}

static void
damage_rate_nan (hid_t file)
{
  set_rate (file, NAN);
}

static void
damage_nan_gain (hid_t file)
{
  hid_t dset = H5Dopen2 (file, "channels/gain", H5P_DEFAULT);
  hid_t space = H5Dget_space (dset);
  hsize_t start = 2, count = 1;
  hid_t mspace = H5Screate_simple (1, &count, NULL);
  double nan_value = NAN;

  H5Sselect_hyperslab (space, H5S_SELECT_SET, &start, NULL, &count, NULL);
  g_assert_cmpint (H5Dwrite (dset, H5T_NATIVE_DOUBLE, mspace, space,
                             H5P_DEFAULT, &nan_value), >=, 0);
  H5Sclose (mspace);
  H5Sclose (space);
  H5Dclose (dset);
}

static void
damage_gain_shape (hid_t file)
{
  hsize_t n = N_CH - 1;
  hid_t space = H5Screate_simple (1, &n, NULL);
  hid_t dset;

  g_assert_cmpint (H5Ldelete (file, "channels/gain", H5P_DEFAULT), >=, 0);
  dset = H5Dcreate2 (file, "channels/gain", H5T_IEEE_F64LE, space,
                     H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  g_assert_cmpint (dset, >=, 0);
  H5Dclose (dset);
  H5Sclose (space);
}

static void
damage_data_rank (hid_t file)
{
  hsize_t n = 100;
  hid_t space = H5Screate_simple (1, &n, NULL);
  hid_t dset;

  g_assert_cmpint (H5Ldelete (file, "data", H5P_DEFAULT), >=, 0);
  dset = H5Dcreate2 (file, "data", H5T_STD_I16LE, space,
                     H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  H5Dclose (dset);
  H5Sclose (space);
}

static void
damage_data_type (hid_t file)
{
  hsize_t dims[2] = { N_SAMP, N_CH };
  hid_t space = H5Screate_simple (2, dims, NULL);
  hid_t dset;

  g_assert_cmpint (H5Ldelete (file, "data", H5P_DEFAULT), >=, 0);
  dset = H5Dcreate2 (file, "data", H5T_IEEE_F32LE, space,
                     H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  H5Dclose (dset);
  H5Sclose (space);
}

static void
damage_no_data (hid_t file)
{
  g_assert_cmpint (H5Ldelete (file, "data", H5P_DEFAULT), >=, 0);
}

static void
damage_sweeps (hid_t file)
{
  hid_t dset = H5Dopen2 (file, "sweeps/n_samples", H5P_DEFAULT);
  gint64 lengths[3] = { 4000, 10000, 5000 };

  g_assert_cmpint (H5Dwrite (dset, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL,
                             H5P_DEFAULT, lengths), >=, 0);
  H5Dclose (dset);
}

static void
damage_version (hid_t file)
{
  hid_t attr = H5Aopen (file, "imprint_format_version", H5P_DEFAULT);
  int version = 99;

  H5Awrite (attr, H5T_NATIVE_INT, &version);
  H5Aclose (attr);
}

static void
replace_with_string (hid_t       file,
                     const char *name)
{
  hid_t type = H5Tcopy (H5T_C_S1);
  hid_t space = H5Screate (H5S_SCALAR);
  hid_t attr;
  const char *value = "fast";

  g_assert_cmpint (H5Adelete (file, name), >=, 0);
  H5Tset_size (type, H5T_VARIABLE);
  attr = H5Acreate2 (file, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
  g_assert_cmpint (H5Awrite (attr, type, &value), >=, 0);
  H5Aclose (attr);
  H5Sclose (space);
  H5Tclose (type);
}

static void
damage_rate_string (hid_t file)
{
  replace_with_string (file, "sample_rate_hz");
}

static void
damage_version_string (hid_t file)
{
  replace_with_string (file, "imprint_format_version");
}

static void
damage_rate_tiny (hid_t file)
{
  set_rate (file, 1.0e-300);
}

static void
set_channel_value (hid_t       file,
                   const char *name,
                   hsize_t     channel,
                   double      value)
{
  g_autofree char *path = g_strdup_printf ("channels/%s", name);
  hid_t dset = H5Dopen2 (file, path, H5P_DEFAULT);
  hid_t space = H5Dget_space (dset);
  hsize_t count = 1;
  hid_t mspace = H5Screate_simple (1, &count, NULL);

  H5Sselect_hyperslab (space, H5S_SELECT_SET, &channel, NULL, &count, NULL);
  g_assert_cmpint (H5Dwrite (dset, H5T_NATIVE_DOUBLE, mspace, space,
                             H5P_DEFAULT, &value), >=, 0);
  H5Sclose (mspace);
  H5Sclose (space);
  H5Dclose (dset);
}

/* Every sample ±inf, from finite settings. */
static void
damage_gain_huge (hid_t file)
{
  set_channel_value (file, "gain", 3, 1.0e40);
}

static void
damage_offset_huge (hid_t file)
{
  set_channel_value (file, "offset", 5, 1.0e300);
}

/* The extent says 10^12 samples; the chunks hold 20,000. */
static void
damage_declared (hid_t file)
{
  hid_t dset = H5Dopen2 (file, "data", H5P_DEFAULT);
  hsize_t dims[2] = { G_GUINT64_CONSTANT (1000000000000), N_CH };

  g_assert_cmpint (H5Dset_extent (dset, dims), >=, 0);
  H5Dclose (dset);
}

/* A contiguous /data that was never written reads as fill zeros. */
static void
damage_unwritten (hid_t file)
{
  hsize_t dims[2] = { N_SAMP, N_CH };
  hid_t space = H5Screate_simple (2, dims, NULL);
  hid_t dset;

  g_assert_cmpint (H5Ldelete (file, "data", H5P_DEFAULT), >=, 0);
  dset = H5Dcreate2 (file, "data", H5T_STD_I16LE, space,
                     H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  H5Dclose (dset);
  H5Sclose (space);
}

typedef struct
{
  const char *name;
  Damage      damage;
  int         code;
  const char *words;   /* the message must contain this */
} MalformedCase;

static const MalformedCase malformed_cases[] = {
  { "no-rate", damage_no_rate, IMP_RECORDING_ERROR_NO_RATE,
    "sample_rate_hz" },
  { "rate-zero", damage_rate_zero, IMP_RECORDING_ERROR_NO_RATE,
    "sampling rate is 0 Hz" },
  { "rate-absurd", damage_rate_absurd, IMP_RECORDING_ERROR_NO_RATE,
    "absurd" },
  { "rate-nan", damage_rate_nan, IMP_RECORDING_ERROR_NO_RATE,
    "sampling rate" },
  { "nan-gain", damage_nan_gain, IMP_RECORDING_ERROR_MALFORMED,
    "Channel 2 (“E02”) has a gain of nan" },
  { "gain-shape", damage_gain_shape, IMP_RECORDING_ERROR_MALFORMED,
    "/channels/gain has 69 entries but /data has 70 channels" },
  { "data-rank", damage_data_rank, IMP_RECORDING_ERROR_MALFORMED,
    "/data has 1 dimensions" },
  { "data-type", damage_data_type, IMP_RECORDING_ERROR_MALFORMED,
    "16-bit" },
  { "no-data", damage_no_data, IMP_RECORDING_ERROR_MALFORMED,
    "/data dataset is missing" },
  { "sweeps", damage_sweeps, IMP_RECORDING_ERROR_MALFORMED,
    "sweeps cover 19000 samples" },
  { "version", damage_version, IMP_RECORDING_ERROR_UNSUPPORTED,
    "version 99" },
  { "rate-string", damage_rate_string, IMP_RECORDING_ERROR_NO_RATE,
    "The sample_rate_hz attribute is not a number" },
  { "version-string", damage_version_string, IMP_RECORDING_ERROR_MALFORMED,
    "The imprint_format_version attribute is not a number" },
  { "rate-tiny", damage_rate_tiny, IMP_RECORDING_ERROR_NO_RATE,
    "1e-300 Hz is absurd (below 1 Hz)" },
  { "gain-huge", damage_gain_huge, IMP_RECORDING_ERROR_MALFORMED,
    "Channel 3 (“E03”) would read values up to" },
  { "offset-huge", damage_offset_huge, IMP_RECORDING_ERROR_MALFORMED,
    "Channel 5 (“E05”) would read values up to 1e+300" },
  { "declared", damage_declared, IMP_RECORDING_ERROR_MALFORMED,
    "/data declares 1000000000000 samples per channel but the file holds "
    "only about" },
  { "unwritten", damage_unwritten, IMP_RECORDING_ERROR_MALFORMED,
    "/data declares 20000 samples per channel but the file holds none" },
};

static void
test_malformed (gconstpointer data)
{
  const MalformedCase *mc = data;
  g_autofree char *name = g_strdup_printf ("bad-%s.h5", mc->name);
  g_autofree char *path = tmp_file (name);
  g_autoptr(GError) error = NULL;
  ImpRecording *rec;
  hid_t file;

  write_ramp_file (path, TRUE);
  file = H5Fopen (path, H5F_ACC_RDWR, H5P_DEFAULT);
  g_assert_cmpint (file, >=, 0);
  mc->damage (file);
  H5Fclose (file);

  rec = imp_recording_open (path, &error);
  g_assert_null (rec);
  g_assert_error (error, IMP_RECORDING_ERROR, mc->code);
  g_test_message ("%s: %s", mc->name, error->message);
  g_assert_nonnull (strstr (error->message, mc->words));
}

static void
test_truncated (void)
{
  g_autofree char *path = tmp_file ("truncated.h5");
  g_autoptr(GError) error = NULL;
  ImpRecording *rec;
  GStatBuf st;

  write_ramp_file (path, TRUE);
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (truncate (path, st.st_size / 2), ==, 0);

  rec = imp_recording_open (path, &error);
  g_assert_null (rec);
  g_assert_error (error, IMP_RECORDING_ERROR, IMP_RECORDING_ERROR_MALFORMED);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "truncated"));

  /* Cut inside the superblock too. */
  g_clear_error (&error);
  g_assert_cmpint (truncate (path, 40), ==, 0);
  rec = imp_recording_open (path, &error);
  g_assert_null (rec);
  g_assert_error (error, IMP_RECORDING_ERROR, IMP_RECORDING_ERROR_MALFORMED);
}

/* Replaces /data with a chunked copy of the same counts through the
 * filter @filter (deflate when H5Z_FILTER_DEFLATE). */
static void
rewrite_data_filtered (const char   *path,
                       H5Z_filter_t  filter)
{
  hsize_t dims[2] = { N_SAMP, N_CH };
  hsize_t chunk[2] = { 8192, 64 };
  g_autofree gint16 *counts = g_new (gint16, N_SAMP * N_CH);
  hid_t file, space, dcpl, dset;

  for (gint64 s = 0; s < N_SAMP; s++)
    for (guint c = 0; c < N_CH; c++)
      counts[s * N_CH + c] = ramp_count (s, c);
  file = H5Fopen (path, H5F_ACC_RDWR, H5P_DEFAULT);
  g_assert_cmpint (file, >=, 0);
  g_assert_cmpint (H5Ldelete (file, "data", H5P_DEFAULT), >=, 0);
  space = H5Screate_simple (2, dims, NULL);
  dcpl = H5Pcreate (H5P_DATASET_CREATE);
  H5Pset_chunk (dcpl, 2, chunk);
  if (filter == H5Z_FILTER_DEFLATE)
    H5Pset_deflate (dcpl, 6);
  else
    g_assert_cmpint (H5Pset_filter (dcpl, filter, H5Z_FLAG_MANDATORY, 0,
                                    NULL), >=, 0);
  dset = H5Dcreate2 (file, "data", H5T_STD_I16LE, space, H5P_DEFAULT, dcpl,
                     H5P_DEFAULT);
  g_assert_cmpint (dset, >=, 0);
  g_assert_cmpint (H5Dwrite (dset, H5T_NATIVE_INT16, H5S_ALL, H5S_ALL,
                             H5P_DEFAULT, counts), >=, 0);
  H5Dclose (dset);
  H5Pclose (dcpl);
  H5Sclose (space);
  H5Fclose (file);
}

/* Stands in for the LZF filter when the file is written. */
static size_t
copy_filter (unsigned int   flags,
             size_t         cd_nelmts,
             const unsigned cd_values[],
             size_t         nbytes,
             size_t        *buf_size,
             void         **buf)
{
  return nbytes;
}

/* Data compressed with a filter this build lacks (h5py's LZF) are
 * refused when opening, by name, instead of failing at the first read
 * with HDF5's "can't open directory: .../plugins". */
static void
test_missing_filter (void)
{
  const H5Z_filter_t lzf = 32000;
  const H5Z_class2_t fake_lzf = {
    H5Z_CLASS_T_VERS, lzf, 1, 1, "lzf", NULL, NULL, copy_filter,
  };
  g_autofree char *path = tmp_file ("lzf.h5");
  g_autoptr(GError) error = NULL;
  ImpRecording *rec;

  if (H5Zfilter_avail (lzf) > 0)
    {
      g_test_skip ("an LZF plugin is installed");
      return;
    }
  write_ramp_file (path, FALSE);
  g_assert_cmpint (H5Zregister (&fake_lzf), >=, 0);
  rewrite_data_filtered (path, lzf);
  g_assert_cmpint (H5Zunregister (lzf), >=, 0);

  rec = imp_recording_open (path, &error);
  g_assert_null (rec);
  g_assert_error (error, IMP_RECORDING_ERROR,
                  IMP_RECORDING_ERROR_UNSUPPORTED);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "/data is compressed with the "
                            "LZF filter (HDF5 filter 32000), which this "
                            "build of HDF5 cannot decode"));
  g_assert_null (strstr (error->message, "plugin"));
}

/* Writes @len bytes of @value at @offset of @path. */
static void
overwrite (const char *path,
           goffset     offset,
           const void *value,
           gsize       len)
{
  FILE *fp = g_fopen (path, "r+b");

  g_assert_nonnull (fp);
  g_assert_cmpint (fseek (fp, offset, SEEK_SET), ==, 0);
  g_assert_cmpuint (fwrite (value, 1, len, fp), ==, len);
  fclose (fp);
}

/* A damaged global heap makes HDF5 1.10 copy gigabytes from a small
 * buffer while reading a string attribute: a segmentation fault, in the
 * probe child. Here the file is refused and the test carries on. */
static void
test_crash_in_hdf5 (void)
{
  g_autofree char *path = tmp_file ("heap.h5");
  g_autofree char *contents = NULL;
  g_autoptr(GError) error = NULL;
  guint64 huge = GUINT64_TO_LE (G_GUINT64_CONSTANT (1) << 44);
  const char *heap;
  ImpRecording *rec;
  gsize len;

  write_ramp_file (path, FALSE);
  g_assert_true (g_file_get_contents (path, &contents, &len, NULL));
  heap = memmem (contents, len, "GCOL", 4);
  g_assert_nonnull (heap);
  /* The size of the collection's first object: "GCOL", version, three
   * reserved bytes, the collection size, then index, references,
   * reserved, size. */
  overwrite (path, (heap - contents) + 16 + 8, &huge, sizeof huge);

  rec = imp_recording_open (path, &error);
  g_assert_null (rec);
  g_assert_error (error, IMP_RECORDING_ERROR, IMP_RECORDING_ERROR_MALFORMED);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "damaged"));
}

/* A chunk in the middle that does not decompress: the probe reads the
 * ends and passes, the read in this process fails, in plain words, and
 * HDF5 prints nothing (not even "infinite loop closing library" at
 * exit). */
static void
test_quiet_read_error (void)
{
  g_autofree char *path = tmp_file ("bad-chunk.h5");

  if (g_test_subprocess ())
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(ImpRecording) rec = NULL;
      g_autofree float *out = g_new (float, N_SAMP);

      rec = imp_recording_open (path, &error);
      g_assert_no_error (error);
      g_assert_false (imp_recording_read (rec, 0, 1, 0, N_SAMP, out,
                                          &error));
      g_assert_error (error, IMP_RECORDING_ERROR, IMP_RECORDING_ERROR_IO);
      g_test_message ("%s", error->message);
      g_assert_nonnull (strstr (error->message, "cannot be decoded"));
      g_assert_null (strstr (error->message, "H5"));
      return;
    }

  write_ramp_file (path, FALSE);
  rewrite_data_filtered (path, H5Z_FILTER_DEFLATE);
  {
    hid_t file = H5Fopen (path, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t dset = H5Dopen2 (file, "data", H5P_DEFAULT);
    hsize_t where[2] = { 8192, 0 };
    haddr_t addr = HADDR_UNDEF;
    hsize_t size = 0;
    unsigned mask = 0;
    static const guint8 junk[16] = {
      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    };

    g_assert_cmpint (H5Dget_chunk_info_by_coord (dset, where, &mask, &addr,
                                                 &size), >=, 0);
    H5Dclose (dset);
    H5Fclose (file);
    g_assert_cmpuint (size, >, 64);
    overwrite (path, addr + size / 2, junk, sizeof junk);
  }

  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDOUT);
  g_test_trap_assert_passed ();
  g_test_trap_assert_stderr_unmatched ("*HDF5*");
}

/* A recording cut short on disk while it is open (the GUI tester cut a
 * simulation to a third): reads fail instead of returning zeros. */
static void
test_changed_on_disk (void)
{
  g_autofree char *path = tmp_file ("cut-later.h5");
  g_autoptr(GError) error = NULL;
  g_autoptr(ImpRecording) rec = NULL;
  g_autofree float *out = g_new (float, 4 * N_SAMP);
  GStatBuf st;

  write_ramp_file (path, FALSE);
  rec = imp_recording_open (path, &error);
  g_assert_no_error (error);
  g_assert_true (imp_recording_read (rec, 0, 4, 0, N_SAMP, out, &error));

  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (truncate (path, st.st_size / 3), ==, 0);
  g_assert_false (imp_recording_read (rec, 0, 4, 0, N_SAMP, out, &error));
  g_assert_error (error, IMP_RECORDING_ERROR, IMP_RECORDING_ERROR_IO);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "changed on disk"));
}

/* What a file may hold that is read but said: impossible electrode
 * positions, units that are not voltages or currents, sweep times that
 * go backwards. */
static void
test_warnings (void)
{
  g_autofree char *path = tmp_file ("odd.h5");
  g_autoptr(GError) error = NULL;
  g_autoptr(ImpNativeWriter) writer = NULL;
  g_autoptr(ImpRecording) rec = NULL;
  g_autofree gint16 *counts = g_new0 (gint16, 4 * 3000);
  const char *warning;

  writer = imp_native_writer_new (path, 4, 10000.0, &error);
  g_assert_no_error (error);
  imp_native_writer_set_channel (writer, 0, "good", "mV", 0.01, 0.0,
                                 10.0, 20.0, IMP_ACCESS_UNKNOWN);
  imp_native_writer_set_channel (writer, 1, "far", "mV", 0.01, 0.0,
                                 1.0e20, INFINITY, IMP_ACCESS_UNKNOWN);
  imp_native_writer_set_channel (writer, 2, "odd", "furlongs", 1.0, 0.0,
                                 NAN, NAN, IMP_ACCESS_UNKNOWN);
  imp_native_writer_set_channel (writer, 3, "big", "MV", 1.0e-6, 0.0,
                                 NAN, NAN, IMP_ACCESS_UNKNOWN);
  g_assert_true (imp_native_writer_append (writer, counts, 3000, &error));
  imp_native_writer_add_sweep (writer, 1000, -1.0);
  imp_native_writer_add_sweep (writer, 1000, 4.0);
  imp_native_writer_add_sweep (writer, 1000, 2.0);
  g_assert_true (imp_native_writer_close (writer, &error));

  rec = imp_recording_open (path, &error);
  g_assert_no_error (error);
  warning = imp_recording_get_warning (rec);
  g_test_message ("%s", warning);
  g_assert_nonnull (warning);
  g_assert_true (imp_recording_get_channel (rec, 0)->has_position);
  g_assert_false (imp_recording_get_channel (rec, 1)->has_position);
  g_assert_nonnull (strstr (warning, "position of channel 1"));
  g_assert_nonnull (strstr (warning, "“furlongs”"));
  g_assert_nonnull (strstr (warning, "megavolts"));
  g_assert_nonnull (strstr (warning, "Sweep 0 starts at -1 s"));
  g_assert_nonnull (strstr (warning, "sweep 2 starts at 2 s"));
}

/* An HDF5 file that is neither ours nor NWB is not ours to open. */
static void
test_foreign_hdf5 (void)
{
  g_autofree char *path = tmp_file ("foreign.h5");
  g_autoptr(GError) error = NULL;
  ImpRecording *rec;
  hid_t file;

  file = H5Fcreate (path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  g_assert_cmpint (file, >=, 0);
  H5Fclose (file);

  rec = imp_recording_open (path, &error);
  g_assert_null (rec);
  g_assert_error (error, IMP_RECORDING_ERROR,
                  IMP_RECORDING_ERROR_UNKNOWN_FORMAT);
}

typedef struct
{
  ImpRecording *rec;
  guint         first_channel;
  gboolean      ok;
} ThreadJob;

static gpointer
reader_thread (gpointer data)
{
  ThreadJob *job = data;
  g_autofree float *out = g_new (float, 4 * 3000);

  job->ok = TRUE;
  for (int round = 0; round < 20; round++)
    {
      gint64 s0 = (round * 977) % (N_SAMP - 3000);

      if (!imp_recording_read (job->rec, job->first_channel, 4, s0, 3000,
                               out, NULL))
        {
          job->ok = FALSE;
          break;
        }
      for (guint c = 0; c < 4 && job->ok; c++)
        {
          const char *unit;
          double gain, offset, factor;
          guint ch = job->first_channel + c;

          channel_spec (ch, &unit, &gain, &offset, &factor);
          for (gint64 s = 0; s < 3000; s++)
            {
              double want = (ramp_count (s0 + s, ch) * gain + offset)
                            * factor;

              if (fabs (out[c * 3000 + s] - want) > fabs (want) * 1e-6 + 1e-6)
                {
                  job->ok = FALSE;
                  break;
                }
            }
        }
    }
  return NULL;
}

static void
test_threads (void)
{
  g_autofree char *path = tmp_file ("threads.h5");
  g_autoptr(GError) error = NULL;
  g_autoptr(ImpRecording) rec = NULL;
  ThreadJob jobs[6];
  GThread *threads[6];

  write_ramp_file (path, FALSE);
  rec = imp_recording_open (path, &error);
  g_assert_no_error (error);

  for (guint i = 0; i < G_N_ELEMENTS (jobs); i++)
    {
      jobs[i].rec = imp_recording_ref (rec);
      jobs[i].first_channel = i * 11;
      threads[i] = g_thread_new ("reader", reader_thread, &jobs[i]);
    }
  for (guint i = 0; i < G_N_ELEMENTS (jobs); i++)
    {
      g_thread_join (threads[i]);
      g_assert_true (jobs[i].ok);
      imp_recording_unref (jobs[i].rec);
    }
}

/* Blocks far apart, read straight from the file, and blocks close
 * together or across chunk rows, read through HDF5: every sample as a
 * plain read of its block gives it. */
static void
test_read_strided (void)
{
  g_autofree char *path = tmp_file ("strided.h5");
  g_autoptr(GError) error = NULL;
  g_autoptr(ImpRecording) rec = NULL;
  static const guint firsts[] = { 0, 3, 60, 64, 69 };
  static const gint64 strides[] = { 17, 100, 2048, 3001, 8192, 9001 };
  static const gint64 widths[] = { 1, 8, 17 };
  float bad[8];

  write_ramp_file (path, FALSE);
  rec = imp_recording_open (path, &error);
  g_assert_no_error (error);

  for (guint f = 0; f < G_N_ELEMENTS (firsts); f++)
    for (guint i = 0; i < G_N_ELEMENTS (strides); i++)
      for (guint w = 0; w < G_N_ELEMENTS (widths); w++)
        {
          guint first = firsts[f];
          guint n_ch = MIN (N_CH - first, 64 - (f % 2) * 7);
          gint64 width = widths[w];
          gint64 start = (f * 977 + i * 131) % 4000;
          gint64 n_blocks = (N_SAMP - width - start) / strides[i] + 1;
          g_autofree float *out = NULL;
          g_autofree float *ref = g_new (float, (gsize) n_ch * width);

          n_blocks = MIN (n_blocks, 400);
          out = g_new (float, (gsize) n_ch * n_blocks * width);
          g_assert_true (imp_recording_read_strided (rec, first, n_ch, start,
                                                     strides[i], width,
                                                     n_blocks, out,
                                                     &error));
          g_assert_no_error (error);

          for (gint64 b = 0; b < n_blocks; b++)
            {
              g_assert_true (imp_recording_read (rec, first, n_ch,
                                                 start + b * strides[i],
                                                 width, ref, &error));
              for (guint c = 0; c < n_ch; c++)
                for (gint64 k = 0; k < width; k++)
                  g_assert_cmpfloat (out[((gsize) c * n_blocks + b) * width
                                         + k], ==,
                                     ref[(gsize) c * width + k]);
            }
        }

  /* Past the end, and channels that do not exist. */
  g_assert_false (imp_recording_read_strided (rec, 0, 1, N_SAMP - 12, 10, 8,
                                              2, bad, &error));
  g_assert_error (error, IMP_RECORDING_ERROR, IMP_RECORDING_ERROR_RANGE);
  g_clear_error (&error);
  g_assert_false (imp_recording_read_strided (rec, N_CH - 1, 2, 0, 10, 4, 2,
                                              bad, &error));
  g_assert_error (error, IMP_RECORDING_ERROR, IMP_RECORDING_ERROR_RANGE);
  g_clear_error (&error);
}

/* A wide recording written in blocks reads back; how fast it is written
 * is measured by the benchmarks (tests/bench/), not here. */
static void
test_wide (void)
{
  const guint n_ch = 1024;
  const gint64 total = g_test_slow () ? 300000 : 30000;
  const gint64 block = 10000;
  g_autofree char *path = tmp_file ("big.h5");
  g_autoptr(GError) error = NULL;
  g_autoptr(ImpNativeWriter) writer = NULL;
  g_autoptr(ImpRecording) rec = NULL;
  g_autofree gint16 *counts = g_new (gint16, (gsize) block * n_ch);
  float probe[8];
  gint64 t0;
  double seconds;

  t0 = g_get_monotonic_time ();
  writer = imp_native_writer_new (path, n_ch, 10000.0, &error);
  g_assert_no_error (error);
  for (guint c = 0; c < n_ch; c++)
    imp_native_writer_set_channel (writer, c, NULL, "mV", 0.01, 0.0,
                                   NAN, NAN, IMP_ACCESS_UNKNOWN);
  for (gint64 s0 = 0; s0 < total; s0 += block)
    {
      for (gint64 s = 0; s < block; s++)
        for (guint c = 0; c < n_ch; c++)
          counts[s * n_ch + c] = (gint16) ((s0 + s + c) & 0x7fff);
      g_assert_true (imp_native_writer_append (writer, counts, block,
                                               &error));
    }
  g_assert_true (imp_native_writer_close (writer, &error));
  g_assert_no_error (error);
  seconds = (g_get_monotonic_time () - t0) / 1e6;
  g_test_message ("wrote 1024 channels × %" G_GINT64_FORMAT
                  " samples in %.2f s", total, seconds);

  rec = imp_recording_open (path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (imp_recording_get_n_samples (rec), ==, total);
  g_assert_true (imp_recording_read (rec, 1000, 1, total - 20000, 8, probe,
                                     &error));
  for (int s = 0; s < 8; s++)
    g_assert_cmpfloat_with_epsilon (probe[s],
                                    ((total - 20000 + s + 1000) & 0x7fff)
                                    * 0.01, 1e-3);
  g_unlink (path);
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

  /* A subprocess test works in its parent's folder. */
  if (g_test_subprocess ())
    tmpdir = g_strdup (g_getenv ("IMP_NATIVE_TMPDIR"));
  else
    tmpdir = g_dir_make_tmp ("imp-native-XXXXXX", NULL);
  g_assert_nonnull (tmpdir);
  g_setenv ("IMP_NATIVE_TMPDIR", tmpdir, TRUE);

  g_test_add_func ("/imp/Native/roundtrip", test_roundtrip);
  g_test_add_func ("/imp/Native/sine", test_sine);
  g_test_add_func ("/imp/Native/range", test_range);
  g_test_add_func ("/imp/Native/read-strided", test_read_strided);
  g_test_add_func ("/imp/Native/writer-refuses", test_writer_refuses);
  g_test_add_func ("/imp/Native/truncated", test_truncated);
  g_test_add_func ("/imp/Native/foreign-hdf5", test_foreign_hdf5);
  g_test_add_func ("/imp/Native/missing-filter", test_missing_filter);
  g_test_add_func ("/imp/Native/crash-in-hdf5", test_crash_in_hdf5);
  g_test_add_func ("/imp/Native/quiet-read-error", test_quiet_read_error);
  g_test_add_func ("/imp/Native/changed-on-disk", test_changed_on_disk);
  g_test_add_func ("/imp/Native/warnings", test_warnings);
  for (guint i = 0; i < G_N_ELEMENTS (malformed_cases); i++)
    {
      g_autofree char *test_path =
        g_strdup_printf ("/imp/Native/malformed/%s", malformed_cases[i].name);

      g_test_add_data_func (test_path, &malformed_cases[i], test_malformed);
    }
  g_test_add_func ("/imp/Native/threads", test_threads);
  g_test_add_func ("/imp/Native/wide", test_wide);

  ret = g_test_run ();
  if (!g_test_subprocess ())
    remove_tmpdir ();
  g_free (tmpdir);

  return ret;
}
