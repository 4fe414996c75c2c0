/* test-pyramid.c
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <errno.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <utime.h>
#include <glib/gstdio.h>
#include <hdf5.h>

#include "imp-native.h"
#include "imp-project.h"
#include "imp-pyramid-private.h"
#include "imp-recording.h"

/* Every value a pyramid gives is checked against a slow reference that
 * reads the whole recording with imp_recording_read() and applies the
 * documented rules: bins of 64 * 4^k samples, the coarsest level whose
 * bins fit a column, a column covering every bin it overlaps, bins cut at
 * the end of what is built, NaN samples ignored. */

#define RATE 10000.0

static char *tmpdir;

static char *
tmp_file (const char *name)
{
  return g_build_filename (tmpdir, name, NULL);
}

/* Fixtures */

/* A count that depends on seed, channel and sample: a slow wave, hashed
 * noise, and now and then the int16 extremes. */
static gint16
code_at (guint  seed,
         guint  c,
         gint64 s)
{
  guint32 h = (guint32) (s * 2654435761u) ^ (c * 40503u) ^ (seed * 97u);
  double wave = 3000.0 * sin (2.0 * G_PI * s / (500.0 + 37.0 * c + seed));

  h ^= h >> 15;
  h *= 2246822519u;
  h ^= h >> 13;
  if (s % 10007 == c)
    return G_MAXINT16;
  if (s % 7919 == c + 3)
    return G_MININT16;
  return (gint16) (wave + (double) (h % 401) - 200.0);
}

/* Channel c's gain and offset: some negative gains, some offsets. */
static void
channel_scale (guint   c,
               double *gain,
               double *offset)
{
  static const double gains[] = { 0.01, -0.02, 0.0037, 1.0 / 3.0 };

  *gain = gains[c % G_N_ELEMENTS (gains)];
  *offset = c % 2 == 0 ? 0.0 : -65.0 + 0.25 * c;
}

/* A native recording of @n_ch channels; @sweeps lists sweep lengths
 * ending with 0 (NULL: one sweep of @n_samples). */
static void
write_native (const char    *path,
              guint          n_ch,
              gint64         n_samples,
              const gint64  *sweeps,
              guint          seed)
{
  g_autoptr(ImpNativeWriter) writer = NULL;
  g_autoptr(GError) error = NULL;
  gint64 block = 8000;
  g_autofree gint16 *buf = g_new (gint16, (gsize) block * n_ch);

  writer = imp_native_writer_new (path, n_ch, RATE, &error);
  g_assert_no_error (error);
  for (guint c = 0; c < n_ch; c++)
    {
      double gain, offset;

      channel_scale (c, &gain, &offset);
      imp_native_writer_set_channel (writer, c, NULL, "mV", gain, offset,
                                     NAN, NAN, IMP_ACCESS_UNKNOWN);
    }
  for (guint i = 0; sweeps != NULL && sweeps[i] > 0; i++)
    imp_native_writer_add_sweep (writer, sweeps[i], 10.0 * i);
  for (gint64 s0 = 0; s0 < n_samples; s0 += block)
    {
      gint64 n = MIN (block, n_samples - s0);

      for (gint64 s = 0; s < n; s++)
        for (guint c = 0; c < n_ch; c++)
          buf[s * n_ch + c] = code_at (seed, c, s0 + s);
      g_assert_true (imp_native_writer_append (writer, buf, n, &error));
      g_assert_no_error (error);
    }
  g_assert_true (imp_native_writer_close (writer, &error));
  g_assert_no_error (error);
}

/* The reference */

typedef struct
{
  ImpRecording *rec;
  float        *x;        /* [channel][sample] */
  guint         n_ch;
  gint64        n;
  guint         n_levels;
  gboolean      has_nan;
} Ref;

static void
ref_init (Ref          *ref,
          ImpRecording *rec)
{
  g_autoptr(GError) error = NULL;

  ref->rec = rec;
  ref->n_ch = imp_recording_get_n_channels (rec);
  ref->n = imp_recording_get_n_samples (rec);
  ref->x = g_new (float, (gsize) ref->n_ch * ref->n);
  g_assert_true (imp_recording_read (rec, 0, ref->n_ch, 0, ref->n, ref->x,
                                     &error));
  g_assert_no_error (error);
  ref->has_nan = FALSE;
  for (gsize i = 0; i < (gsize) ref->n_ch * ref->n; i++)
    ref->has_nan |= isnan (ref->x[i]);
  /* Levels until one has at most 2048 bins. */
  ref->n_levels = 1;
  while ((ref->n + (64 << (2 * (ref->n_levels - 1))) - 1)
         / (64 << (2 * (ref->n_levels - 1))) > 2048)
    ref->n_levels++;
}

static void
ref_clear (Ref *ref)
{
  g_clear_pointer (&ref->x, g_free);
}

static gint64
ref_bin (guint level)
{
  return (gint64) 64 << (2 * level);
}

static guint
ref_level (const Ref *ref,
           gint64     samples_per_column)
{
  guint k = 0;

  while (k + 1 < ref->n_levels && ref_bin (k + 1) <= samples_per_column)
    k++;
  return k;
}

typedef struct
{
  float   min;
  float   max;
  double  mean;
} Expect;

/* Samples [from, to) of channel @c, in bins of @bin starting at @from:
 * min and max of the samples that are not NaN; the mean of the bin means
 * weighted by the bins' lengths (bins all NaN left out). */
static void
ref_expect (const Ref *ref,
            guint      c,
            gint64     from,
            gint64     to,
            gint64     bin,
            Expect    *e)
{
  const float *x = ref->x + (gsize) c * ref->n;
  double sum = 0.0, weight = 0.0;

  e->min = INFINITY;
  e->max = -INFINITY;
  for (gint64 b = from; b < to; b += bin)
    {
      gint64 end = MIN (b + bin, to);
      double bsum = 0.0;
      gint64 count = 0;

      for (gint64 s = b; s < end; s++)
        {
          if (isnan (x[s]))
            continue;
          e->min = MIN (e->min, x[s]);
          e->max = MAX (e->max, x[s]);
          bsum += x[s];
          count++;
        }
      if (count > 0)
        {
          sum += bsum / count * (end - b);
          weight += end - b;
        }
    }
  if (weight == 0.0)
    e->min = e->max = e->mean = NAN;
  else
    e->mean = sum / weight;
}

/* The largest error of a stored mean: half a code in int16 mode, float
 * rounding in float32 mode. */
static double
mean_tolerance (const Ref *ref,
                guint      c,
                gboolean   int16,
                double     mean)
{
  double tol = 1e-5 * fabs (mean) + 1e-6;

  if (int16)
    tol += 0.5 * fabs (imp_recording_get_channel (ref->rec, c)->gain);
  return tol;
}

static void
check_value (float         got_min,
             float         got_max,
             float         got_mean,
             const Expect *e,
             double        tol,
             const char   *where)
{
  if (isnan (e->min))
    {
      if (!isnan (got_min) || !isnan (got_max) || !isnan (got_mean))
        g_error ("%s: expected NaN, got %g %g %g", where, got_min, got_max,
                 got_mean);
      return;
    }
  if (got_min != e->min || got_max != e->max
      || !(fabs (got_mean - e->mean) <= tol))
    g_error ("%s: got min %.9g max %.9g mean %.9g, expected %.9g %.9g %.9g "
             "(tolerance %g)", where, got_min, got_max, got_mean, e->min,
             e->max, e->mean, tol);
}

/* Queries every channel from @first in columns of @spc samples and
 * compares each column with the reference, for what is built up to
 * @limit. */
static void
check_columns (ImpPyramid *pyr,
               const Ref  *ref,
               gint64      limit,
               gint64      first,
               gint64      spc,
               guint       n_cols)
{
  g_autofree float *lo = g_new (float, n_cols);
  g_autofree float *hi = g_new (float, n_cols);
  g_autofree float *mean = g_new (float, n_cols);
  gboolean int16 = imp_pyramid_is_int16 (pyr);
  guint k = ref_level (ref, spc);
  gint64 bin = ref_bin (k);

  for (guint c = 0; c < ref->n_ch; c++)
    {
      gint64 first_bin = -1, end_bin = -1;
      gint64 bins;

      bins = imp_pyramid_query (pyr, c, first, spc, n_cols, lo, hi, mean);
      for (guint j = 0; j < n_cols; j++)
        {
          gint64 s0 = MAX (first + (gint64) j * spc, 0);
          gint64 s1 = MIN (first + (gint64) (j + 1) * spc, limit);
          Expect e = { NAN, NAN, NAN };
          char where[128];

          if (s0 < s1)
            {
              gint64 from = s0 / bin * bin;
              gint64 to = MIN ((s1 + bin - 1) / bin * bin, limit);

              ref_expect (ref, c, from, to, bin, &e);
              if (first_bin < 0)
                first_bin = from / bin;
              end_bin = (to + bin - 1) / bin;
            }
          g_snprintf (where, sizeof where, "channel %u, first %" G_GINT64_FORMAT
                      ", %" G_GINT64_FORMAT " per column, column %u, built %"
                      G_GINT64_FORMAT, c, first, spc, j, limit);
          check_value (lo[j], hi[j], mean[j], &e,
                       mean_tolerance (ref, c, int16, e.mean), where);
        }
      g_assert_cmpint (bins, ==, first_bin < 0 ? 0 : end_bin - first_bin);
    }
}

/* Every bin of every level, one bin per column. */
static void
check_levels (ImpPyramid *pyr,
              const Ref  *ref,
              gint64      limit)
{
  g_assert_cmpuint (imp_pyramid_get_n_levels (pyr), ==, ref->n_levels);
  for (guint k = 0; k < ref->n_levels; k++)
    {
      gint64 bin = ref_bin (k);

      g_assert_cmpint (imp_pyramid_bin_samples (k), ==, bin);
      check_columns (pyr, ref, limit, 0, bin, (ref->n + bin - 1) / bin);
    }
}

/* Columns that start off the bins, are not a whole number of bins wide,
 * start before the recording or run past its end. */
static void
check_unaligned (ImpPyramid *pyr,
                 const Ref  *ref,
                 gint64      limit)
{
  static const struct { gint64 first; gint64 spc; guint n; } cases[] = {
    { 1000, 100, 1920 },
    { -777, 300, 700 },
    { 12345, 5000, 257 },
    { 33, 70000, 300 },
    { 0, 1, 500 },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    check_columns (pyr, ref, limit, cases[i].first, cases[i].spc, cases[i].n);
  /* The last few columns cover the end of the recording and beyond. */
  check_columns (pyr, ref, limit, ref->n - 5000, 333, 40);
}

static ImpRecording *
open_recording (const char *path)
{
  g_autoptr(GError) error = NULL;
  ImpRecording *rec = imp_recording_open (path, &error);

  g_assert_no_error (error);
  g_assert_nonnull (rec);
  return rec;
}

static ImpPyramid *
open_pyramid (ImpRecording *rec,
              const char   *project)
{
  g_autoptr(GError) error = NULL;
  ImpPyramid *pyr = imp_pyramid_open (rec, project, &error);

  g_assert_no_error (error);
  g_assert_nonnull (pyr);
  return pyr;
}

static void
build_ok (ImpPyramid *pyr)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (imp_pyramid_build (pyr, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (imp_pyramid_is_complete (pyr));
}

/* Builds the pyramid of @path from scratch, with small memory limits when
 * @small (so levels live in the file and chunks are evicted), checks it,
 * then checks it again as loaded back from the project file. */
static void
check_recording (const char *path,
                 gboolean    small,
                 gboolean    expect_int16,
                 gboolean    expect_retry)
{
  g_autoptr(ImpRecording) rec = open_recording (path);
  g_autoptr(ImpPyramid) pyr = NULL;
  g_autofree char *project = g_strconcat (path, small ? ".small" : ".big",
                                          ".imprint", NULL);
  Ref ref;

  if (small)
    _imp_pyramid_set_limits (0, 1, 16 * 1024);
  g_unlink (project);
  ref_init (&ref, rec);
  pyr = open_pyramid (rec, project);
  g_assert_false (imp_pyramid_is_complete (pyr));
  g_assert_cmpint (imp_pyramid_get_built_samples (pyr), ==, 0);
  check_columns (pyr, &ref, 0, 0, 64, 10);
  build_ok (pyr);
  g_assert_cmpint (imp_pyramid_get_built_samples (pyr), ==, ref.n);
  /* A file found not to hold codes is read again for float32. */
  if (expect_retry)
    g_assert_cmpint (imp_pyramid_get_samples_read (pyr), >, ref.n);
  else
    g_assert_cmpint (imp_pyramid_get_samples_read (pyr), ==, ref.n);
  g_assert_cmpint (imp_pyramid_is_int16 (pyr), ==, expect_int16);
  g_assert_cmpstr (imp_pyramid_get_path (pyr), ==, project);
  check_levels (pyr, &ref, ref.n);
  check_unaligned (pyr, &ref, ref.n);
  g_clear_pointer (&pyr, imp_pyramid_unref);

  pyr = open_pyramid (rec, project);
  g_assert_true (imp_pyramid_is_complete (pyr));
  g_assert_cmpint (imp_pyramid_get_samples_read (pyr), ==, 0);
  g_assert_cmpint (imp_pyramid_is_int16 (pyr), ==, expect_int16);
  check_levels (pyr, &ref, ref.n);
  check_unaligned (pyr, &ref, ref.n);
  g_clear_pointer (&pyr, imp_pyramid_unref);

  /* Loaded under other memory limits, it is the same pyramid. */
  if (small)
    _imp_pyramid_reset_limits ();
  else
    _imp_pyramid_set_limits (0, 1, 16 * 1024);
  pyr = open_pyramid (rec, project);
  g_assert_true (imp_pyramid_is_complete (pyr));
  check_levels (pyr, &ref, ref.n);

  ref_clear (&ref);
  _imp_pyramid_reset_limits ();
}

/* 1 channel, 9,000,017 samples in three sweeps: five levels, the top two
 * with bins longer than a block of the build. */
static const char *
long_recording (void)
{
  static char *path = NULL;
  static const gint64 sweeps[] = { 3000001, 4500000, 1500016, 0 };

  if (path == NULL)
    {
      path = tmp_file ("long.h5");
      write_native (path, 1, 9000017, sweeps, 1);
    }
  return path;
}

/* 70 channels, across two 64-channel chunk columns, in sweeps. */
static const char *
wide_recording (void)
{
  static char *path = NULL;
  static const gint64 sweeps[] = { 50001, 777, 99223, 0 };

  if (path == NULL)
    {
      path = tmp_file ("wide.h5");
      write_native (path, 70, 150001, sweeps, 2);
    }
  return path;
}

static void
test_long (gconstpointer data)
{
  check_recording (long_recording (), GPOINTER_TO_INT (data), TRUE, FALSE);
}

static void
test_wide (gconstpointer data)
{
  check_recording (wide_recording (), GPOINTER_TO_INT (data), TRUE, FALSE);
}

static void
test_tiny (void)
{
  g_autofree char *path = tmp_file ("tiny.h5");

  write_native (path, 3, 100, NULL, 3);
  check_recording (path, FALSE, TRUE, FALSE);
}

/* NWB files with NaN: patch-clamp series, one per cell and sweep. */

static void
put_attr_string (hid_t       obj,
                 const char *name,
                 const char *value)
{
  hid_t type = H5Tcopy (H5T_C_S1);
  hid_t space = H5Screate (H5S_SCALAR);
  hid_t attr;

  H5Tset_size (type, H5T_VARIABLE);
  H5Tset_cset (type, H5T_CSET_UTF8);
  attr = H5Acreate2 (obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
  g_assert_cmpint (H5Awrite (attr, type, &value), >=, 0);
  H5Aclose (attr);
  H5Sclose (space);
  H5Tclose (type);
}

static void
put_attr_number (hid_t       obj,
                 const char *name,
                 hid_t       type,
                 double      value)
{
  hid_t space = H5Screate (H5S_SCALAR);
  hid_t attr = H5Acreate2 (obj, name, type, space, H5P_DEFAULT,
                           H5P_DEFAULT);

  g_assert_cmpint (H5Awrite (attr, H5T_NATIVE_DOUBLE, &value), >=, 0);
  H5Aclose (attr);
  H5Sclose (space);
}

static hid_t
put_data (hid_t        loc,
          const char  *name,
          hid_t        file_type,
          hid_t        mem_type,
          hsize_t      n,
          const void  *values)
{
  hid_t space = n == 0 ? H5Screate (H5S_SCALAR)
                       : H5Screate_simple (1, &n, NULL);
  hid_t dset = H5Dcreate2 (loc, name, file_type, space, H5P_DEFAULT,
                           H5P_DEFAULT, H5P_DEFAULT);

  g_assert_cmpint (dset, >=, 0);
  g_assert_cmpint (H5Dwrite (dset, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                             values), >=, 0);
  H5Sclose (space);
  return dset;
}

typedef enum
{
  NWB_FLOAT,     /* float32 values, some NaN */
  NWB_INT16,     /* int16 codes, one conversion per cell */
  NWB_MIXED,     /* int16 codes, but one sweep with another conversion */
} NwbKind;

#define NWB_SWEEP 40000

static void
write_series (hid_t    file,
              NwbKind  kind,
              guint    cell,
              guint    sweep)
{
  g_autofree char *name = g_strdup_printf ("acquisition/ccs_%u_%u", cell,
                                           sweep);
  g_autofree char *target = g_strdup_printf (
    "/general/intracellular_ephys/cell%u", cell);
  g_autofree float *fvalues = g_new (float, NWB_SWEEP);
  g_autofree gint16 *codes = g_new (gint16, NWB_SWEEP);
  hid_t series, data, start;
  double t0 = 5.0 * sweep;
  double conversion = kind == NWB_MIXED && cell == 0 && sweep == 2
                      ? 2.5e-5 : 1.0e-5;

  for (gint64 s = 0; s < NWB_SWEEP; s++)
    {
      codes[s] = code_at (7, cell, s + sweep * NWB_SWEEP);
      fvalues[s] = codes[s] * 1.0e-5f - 0.06f;
      /* NaN stretches: whole bins at levels 0 and 1, and parts of bins. */
      if ((s >= 1000 && s < 1700) || (s >= 30001 && s < 30011))
        fvalues[s] = NAN;
    }
  series = H5Gcreate2 (file, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  put_attr_string (series, "neurodata_type", "CurrentClampSeries");
  put_attr_number (series, "sweep_number", H5T_STD_U64LE, sweep);
  if (kind == NWB_FLOAT)
    data = put_data (series, "data", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT,
                     NWB_SWEEP, fvalues);
  else
    data = put_data (series, "data", H5T_STD_I16LE, H5T_NATIVE_INT16,
                     NWB_SWEEP, codes);
  put_attr_number (data, "conversion", H5T_IEEE_F64LE,
                   kind == NWB_FLOAT ? 1.0 : conversion);
  put_attr_number (data, "offset", H5T_IEEE_F64LE,
                   kind == NWB_FLOAT ? 0.0 : -0.06);
  put_attr_string (data, "unit", "volts");
  H5Dclose (data);
  start = put_data (series, "starting_time", H5T_IEEE_F64LE,
                    H5T_NATIVE_DOUBLE, 0, &t0);
  put_attr_number (start, "rate", H5T_IEEE_F64LE, RATE);
  H5Dclose (start);
  g_assert_cmpint (H5Lcreate_soft (target, series, "electrode", H5P_DEFAULT,
                                   H5P_DEFAULT), >=, 0);
  H5Gclose (series);
}

/* Two cells, three sweeps; cell 1 has no series in sweep 1, which reads
 * as NaN. */
static void
write_nwb (const char *path,
           NwbKind     kind)
{
  hid_t file = H5Fcreate (path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  const char *desc = "pyramid test";
  hid_t group, type, dset;

  g_assert_cmpint (file, >=, 0);
  put_attr_string (file, "nwb_version", "2.5.0");
  put_attr_string (file, "neurodata_type", "NWBFile");
  put_attr_string (file, "namespace", "core");
  type = H5Tcopy (H5T_C_S1);
  H5Tset_size (type, H5T_VARIABLE);
  dset = put_data (file, "session_description", type, type, 0, &desc);
  H5Dclose (dset);
  H5Tclose (type);
  H5Gclose (H5Gcreate2 (file, "acquisition", H5P_DEFAULT, H5P_DEFAULT,
                        H5P_DEFAULT));
  group = H5Gcreate2 (file, "general", H5P_DEFAULT, H5P_DEFAULT,
                      H5P_DEFAULT);
  H5Gclose (group);
  group = H5Gcreate2 (file, "general/intracellular_ephys", H5P_DEFAULT,
                      H5P_DEFAULT, H5P_DEFAULT);
  for (guint cell = 0; cell < 2; cell++)
    {
      g_autofree char *name = g_strdup_printf ("cell%u", cell);
      hid_t g = H5Gcreate2 (group, name, H5P_DEFAULT, H5P_DEFAULT,
                            H5P_DEFAULT);

      put_attr_string (g, "neurodata_type", "IntracellularElectrode");
      H5Gclose (g);
    }
  H5Gclose (group);
  for (guint sweep = 0; sweep < 3; sweep++)
    for (guint cell = 0; cell < 2; cell++)
      if (!(cell == 1 && sweep == 1))
        write_series (file, kind, cell, sweep);
  H5Fclose (file);
}

static void
test_nwb (gconstpointer data)
{
  NwbKind kind = GPOINTER_TO_INT (data);
  g_autofree char *path = g_strdup_printf ("%s/patch-%d.nwb", tmpdir, kind);
  g_autoptr(ImpRecording) rec = NULL;
  Ref ref;

  write_nwb (path, kind);
  rec = open_recording (path);
  ref_init (&ref, rec);
  g_assert_true (ref.has_nan);
  ref_clear (&ref);
  /* Codes where every value is one; float32 where some are not. */
  check_recording (path, FALSE, kind == NWB_INT16, kind == NWB_MIXED);
  check_recording (path, TRUE, kind == NWB_INT16, kind == NWB_MIXED);
}

/* Reuse, staleness, damage */

static gint64
mtime_of (const char *path)
{
  GStatBuf st;

  g_assert_cmpint (g_stat (path, &st), ==, 0);
  return (gint64) st.st_mtim.tv_sec * G_USEC_PER_SEC
         + st.st_mtim.tv_nsec / 1000;
}

static void
set_mtime (const char *path,
           time_t      when)
{
  struct utimbuf times = { when, when };

  g_assert_cmpint (utime (path, &times), ==, 0);
}

static void
test_reuse (void)
{
  g_autofree char *path = tmp_file ("reuse.h5");
  g_autofree char *project = NULL;
  g_autoptr(ImpRecording) rec = NULL;
  g_autoptr(ImpPyramid) pyr = NULL;
  gint64 mtime;
  Ref ref;

  write_native (path, 5, 123457, NULL, 4);
  rec = open_recording (path);
  pyr = open_pyramid (rec, NULL);
  project = g_strconcat (path, ".imprint", NULL);
  g_assert_cmpstr (imp_pyramid_get_path (pyr), ==, project);
  g_assert_false (g_file_test (project, G_FILE_TEST_EXISTS));
  build_ok (pyr);
  g_assert_cmpint (imp_pyramid_get_samples_read (pyr), ==, 123457);
  g_assert_true (g_file_test (project, G_FILE_TEST_IS_REGULAR));
  mtime = mtime_of (project);
  g_clear_pointer (&pyr, imp_pyramid_unref);

  /* Loaded: complete at once; building reads nothing, writes nothing. */
  pyr = open_pyramid (rec, NULL);
  g_assert_true (imp_pyramid_is_complete (pyr));
  build_ok (pyr);
  g_assert_cmpint (imp_pyramid_get_samples_read (pyr), ==, 0);
  g_assert_cmpint (mtime_of (project), ==, mtime);
  ref_init (&ref, rec);
  check_levels (pyr, &ref, ref.n);
  ref_clear (&ref);
}

static void
test_stale (void)
{
  g_autofree char *path = tmp_file ("stale.h5");
  g_autoptr(ImpRecording) rec = NULL;
  g_autoptr(ImpPyramid) pyr = NULL;
  Ref ref;

  write_native (path, 4, 100000, NULL, 5);
  set_mtime (path, 1700000000);
  rec = open_recording (path);
  pyr = open_pyramid (rec, NULL);
  build_ok (pyr);
  g_clear_pointer (&pyr, imp_pyramid_unref);
  g_clear_pointer (&rec, imp_recording_unref);

  /* Other samples, same size and name. */
  write_native (path, 4, 100000, NULL, 6);
  set_mtime (path, 1700000100);
  rec = open_recording (path);
  pyr = open_pyramid (rec, NULL);
  g_assert_false (imp_pyramid_is_complete (pyr));
  build_ok (pyr);
  g_assert_cmpint (imp_pyramid_get_samples_read (pyr), ==, 100000);
  ref_init (&ref, rec);
  check_levels (pyr, &ref, ref.n);
  ref_clear (&ref);
  g_clear_pointer (&pyr, imp_pyramid_unref);
  g_clear_pointer (&rec, imp_recording_unref);

  /* The same samples, touched: the project cannot know, so rebuilds. */
  set_mtime (path, 1700000200);
  rec = open_recording (path);
  pyr = open_pyramid (rec, NULL);
  g_assert_false (imp_pyramid_is_complete (pyr));
  g_clear_pointer (&pyr, imp_pyramid_unref);
  g_clear_pointer (&rec, imp_recording_unref);

  /* Another recording's project file. */
  {
    g_autofree char *other = tmp_file ("stale-other.h5");
    g_autofree char *project = g_strconcat (path, ".imprint", NULL);

    write_native (other, 4, 100000, NULL, 5);
    rec = open_recording (other);
    pyr = open_pyramid (rec, project);
    g_assert_false (imp_pyramid_is_complete (pyr));
  }
}

typedef enum
{
  DAMAGE_TRUNCATE,
  DAMAGE_HEADER,
  DAMAGE_EMPTY,
  DAMAGE_TEXT,
  DAMAGE_METADATA,
} Damage;

static void
damage_file (const char *project,
             Damage      how)
{
  g_autofree char *bytes = NULL;
  g_autoptr(GError) error = NULL;
  gsize len = 0;

  g_assert_true (g_file_get_contents (project, &bytes, &len, &error));
  switch (how)
    {
    case DAMAGE_TRUNCATE:
      len /= 2;
      break;
    case DAMAGE_HEADER:
      memset (bytes, 0x5a, MIN (len, 600));
      break;
    case DAMAGE_EMPTY:
      len = 0;
      break;
    case DAMAGE_TEXT:
      g_free (bytes);
      bytes = g_strdup ("not a project file\n");
      len = strlen (bytes);
      break;
    case DAMAGE_METADATA:
    default:
      /* Scribble over the end, where HDF5 keeps indexes and headers
       * written last. */
      for (gsize i = len - MIN (len, 4096); i < len; i += 7)
        bytes[i] ^= 0xa5;
      break;
    }
  g_assert_true (g_file_set_contents (project, bytes, len, &error));
}

static void
test_damaged (gconstpointer data)
{
  Damage how = GPOINTER_TO_INT (data);
  g_autofree char *name = g_strdup_printf ("damaged-%d.h5", how);
  g_autofree char *path = tmp_file (name);
  g_autofree char *project = g_strconcat (path, ".imprint", NULL);
  g_autoptr(ImpRecording) rec = NULL;
  g_autoptr(ImpPyramid) pyr = NULL;
  Ref ref;

  write_native (path, 3, 300000, NULL, 8);
  rec = open_recording (path);
  _imp_pyramid_set_limits (0, 1, 16 * 1024);
  pyr = open_pyramid (rec, NULL);
  build_ok (pyr);
  g_clear_pointer (&pyr, imp_pyramid_unref);

  damage_file (project, how);
  pyr = open_pyramid (rec, NULL);
  g_assert_false (imp_pyramid_is_complete (pyr));
  build_ok (pyr);
  g_assert_cmpint (imp_pyramid_get_samples_read (pyr), ==, 300000);
  ref_init (&ref, rec);
  check_levels (pyr, &ref, ref.n);
  g_clear_pointer (&pyr, imp_pyramid_unref);

  /* And the rebuilt file is good. */
  pyr = open_pyramid (rec, NULL);
  g_assert_true (imp_pyramid_is_complete (pyr));
  check_levels (pyr, &ref, ref.n);
  ref_clear (&ref);
  _imp_pyramid_reset_limits ();
}

/* A chunk damaged where the check on opening does not look: its columns
 * read as NaN, with one warning, and every other column stays exact. */
static void
test_damaged_chunk (void)
{
  g_autofree char *path = tmp_file ("damaged-chunk.h5");
  g_autofree char *project = g_strconcat (path, ".imprint", NULL);
  g_autoptr(ImpRecording) rec = NULL;
  g_autoptr(ImpPyramid) pyr = NULL;
  g_autofree char *bytes = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree float *lo = NULL, *hi = NULL, *mean = NULL;
  hsize_t offset[2], n_chunks = 0, size = 0;
  haddr_t addr = 0;
  unsigned mask = 0;
  hid_t file, dset, space;
  gint64 bad_first, bad_end, n_bins;
  gsize len;
  Ref ref;

  write_native (path, 2, 400000, NULL, 15);
  rec = open_recording (path);
  _imp_pyramid_set_limits (0, 1, 16 * 1024);
  pyr = open_pyramid (rec, NULL);
  build_ok (pyr);
  g_clear_pointer (&pyr, imp_pyramid_unref);

  /* A chunk in the middle of level 0's maxima. */
  file = H5Fopen (project, H5F_ACC_RDONLY, H5P_DEFAULT);
  dset = H5Dopen2 (file, "pyramid/level0/max", H5P_DEFAULT);
  space = H5Dget_space (dset);
  g_assert_cmpint (H5Dget_num_chunks (dset, space, &n_chunks), >=, 0);
  g_assert_cmpuint (n_chunks, >=, 5);
  g_assert_cmpint (H5Dget_chunk_info (dset, space, n_chunks / 2, offset,
                                      &mask, &addr, &size), >=, 0);
  H5Sclose (space);
  H5Dclose (dset);
  H5Fclose (file);
  g_assert_true (g_file_get_contents (project, &bytes, &len, &error));
  g_assert_cmpuint (addr + size, <=, len);
  for (hsize_t i = 0; i < size; i += 3)
    bytes[addr + i] ^= 0x3c;
  g_assert_true (g_file_set_contents (project, bytes, len, &error));

  pyr = open_pyramid (rec, NULL);
  g_assert_true (imp_pyramid_is_complete (pyr));
  ref_init (&ref, rec);
  n_bins = (ref.n + 63) / 64;
  lo = g_new (float, n_bins);
  hi = g_new (float, n_bins);
  mean = g_new (float, n_bins);
  g_test_expect_message ("imprint-core", G_LOG_LEVEL_WARNING,
                         "*Failed to read level 0*");
  imp_pyramid_query (pyr, 0, 0, 64, n_bins, lo, hi, mean);
  g_test_assert_expected_messages ();
  bad_first = offset[0];
  for (bad_end = bad_first; bad_end < n_bins && isnan (lo[bad_end]);)
    bad_end++;
  /* A chunk holds its rows of 2 channels of int16, and a checksum. */
  g_assert_cmpint (bad_end - bad_first, ==, (size - 4) / (2 * 2));
  for (gint64 b = 0; b < n_bins; b++)
    {
      Expect e = { NAN, NAN, NAN };

      if (b < bad_first || b >= bad_end)
        ref_expect (&ref, 0, b * 64, MIN ((b + 1) * 64, ref.n), 64, &e);
      check_value (lo[b], hi[b], mean[b], &e,
                   mean_tolerance (&ref, 0, TRUE, e.mean), "damaged chunk");
    }
  /* Columns partly in it are NaN too; the other channel is whole. */
  imp_pyramid_query (pyr, 0, bad_first * 64 - 32, 128, 1, lo, hi, mean);
  g_assert_true (isnan (lo[0]) && isnan (hi[0]) && isnan (mean[0]));
  check_columns (pyr, &ref, ref.n, 0, 64, 100);
  ref_clear (&ref);
  _imp_pyramid_reset_limits ();
}

/* Cancellation */

typedef struct
{
  GCancellable *cancellable;
  double        at;
  guint         calls;
} CancelData;

static void
cancel_cb (double      fraction,
           const char *stage,
           gpointer    user_data)
{
  CancelData *cd = user_data;

  g_assert_nonnull (stage);
  cd->calls++;
  if (fraction >= cd->at)
    g_cancellable_cancel (cd->cancellable);
}

/* Names in @dir other than @keep. */
static guint
count_others (const char *dir,
              const char *keep)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;
  guint n = 0;

  g_assert_nonnull (d);
  while ((name = g_dir_read_name (d)) != NULL)
    if (!g_str_equal (name, keep))
      {
        g_test_message ("left behind: %s", name);
        n++;
      }
  return n;
}

static void
test_cancel (void)
{
  g_autofree char *dir = tmp_file ("cancel");
  g_autofree char *path = g_build_filename (dir, "rec.h5", NULL);
  g_autoptr(ImpRecording) rec = NULL;
  g_autoptr(ImpPyramid) pyr = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  CancelData cd = { cancellable, 0.3, 0 };
  gint64 built;
  Ref ref;

  g_assert_cmpint (g_mkdir (dir, 0755), ==, 0);
  write_native (path, 70, 200000, NULL, 9);
  rec = open_recording (path);
  _imp_pyramid_set_limits (0, 1, 16 * 1024);
  pyr = open_pyramid (rec, NULL);
  g_assert_false (imp_pyramid_build (pyr, cancel_cb, &cd, cancellable,
                                     &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_false (imp_pyramid_is_complete (pyr));
  g_assert_cmpuint (count_others (dir, "rec.h5"), ==, 0);

  /* What was read stays readable, exactly. */
  built = imp_pyramid_get_built_samples (pyr);
  g_assert_cmpint (built, >=, 0.3 * 200000);
  g_assert_cmpint (built, <, 200000);
  ref_init (&ref, rec);
  check_levels (pyr, &ref, built);
  check_unaligned (pyr, &ref, built);

  /* Cancelled before it starts: what there was stays. */
  g_clear_error (&error);
  g_assert_false (imp_pyramid_build (pyr, NULL, NULL, cancellable, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpuint (count_others (dir, "rec.h5"), ==, 0);
  g_assert_cmpint (imp_pyramid_get_built_samples (pyr), ==, built);

  /* A new build starts over and finishes. */
  build_ok (pyr);
  check_levels (pyr, &ref, ref.n);
  g_assert_cmpuint (count_others (dir, "rec.h5"), ==, 1);
  ref_clear (&ref);
  _imp_pyramid_reset_limits ();
}

/* Temporary files of writers that died are removed by the next writer on
 * the same machine; those of other machines are left alone. */
static void
test_orphans (void)
{
  g_autofree char *dir = tmp_file ("orphans");
  g_autofree char *path = g_build_filename (dir, "rec.h5", NULL);
  g_autofree char *dead = NULL;
  g_autofree char *foreign = NULL;
  g_autofree char *alive = NULL;
  g_autoptr(ImpRecording) rec = NULL;
  g_autoptr(ImpPyramid) pyr = NULL;
  pid_t pid;

  g_assert_cmpint (g_mkdir (dir, 0755), ==, 0);
  write_native (path, 2, 20000, NULL, 17);
  /* A process that is surely gone. */
  pid = fork ();
  if (pid == 0)
    _exit (0);
  g_assert_cmpint (waitpid (pid, NULL, 0), ==, pid);
  dead = g_strdup_printf ("%s.imprint.tmp-%d-0badf00d-%s", path, (int) pid,
                          g_get_host_name ());
  foreign = g_strdup_printf ("%s.imprint.tmp-%d-0badf00d-elsewhere.example",
                             path, (int) pid);
  alive = g_strdup_printf ("%s.imprint.tmp-%d-0badf00d-%s", path,
                           (int) getpid (), g_get_host_name ());
  g_assert_true (g_file_set_contents (dead, "x", 1, NULL));
  g_assert_true (g_file_set_contents (foreign, "x", 1, NULL));
  g_assert_true (g_file_set_contents (alive, "x", 1, NULL));

  rec = open_recording (path);
  pyr = open_pyramid (rec, NULL);
  build_ok (pyr);
  g_assert_false (g_file_test (dead, G_FILE_TEST_EXISTS));
  g_assert_true (g_file_test (foreign, G_FILE_TEST_EXISTS));
  g_assert_true (g_file_test (alive, G_FILE_TEST_EXISTS));
}

/* Queries while a build runs */

typedef struct
{
  ImpPyramid *pyr;
  GMutex      lock;
  GCond       cond;
  guint       every;
  guint       calls;
  guint       serial;    /* pauses begun */
  guint       released;  /* pauses the checker is done with */
  gboolean    done;
  gboolean    ok;
} Gate;

static void
gate_cb (double      fraction,
         const char *stage,
         gpointer    user_data)
{
  Gate *gate = user_data;

  if (++gate->calls % gate->every != 0 || fraction >= 1.0)
    return;
  g_mutex_lock (&gate->lock);
  gate->serial++;
  g_cond_broadcast (&gate->cond);
  while (gate->released < gate->serial)
    g_cond_wait (&gate->cond, &gate->lock);
  g_mutex_unlock (&gate->lock);
}

static gpointer
build_worker (gpointer data)
{
  Gate *gate = data;
  gboolean ok = imp_pyramid_build (gate->pyr, gate_cb, gate, NULL, NULL);

  g_mutex_lock (&gate->lock);
  gate->ok = ok;
  gate->done = TRUE;
  g_cond_broadcast (&gate->cond);
  g_mutex_unlock (&gate->lock);
  return NULL;
}

static void
check_concurrent (const char *path,
                  gboolean    small,
                  guint       every)
{
  g_autoptr(ImpRecording) rec = open_recording (path);
  g_autoptr(ImpPyramid) pyr = NULL;
  g_autofree char *project = g_strconcat (path, ".concurrent.imprint", NULL);
  Gate gate = { 0 };
  GThread *thread;
  guint pauses = 0;
  gboolean straddled = FALSE;
  Ref ref;

  if (small)
    _imp_pyramid_set_limits (0, 1, 16 * 1024);
  g_unlink (project);
  ref_init (&ref, rec);
  pyr = open_pyramid (rec, project);
  gate.pyr = pyr;
  gate.every = every;
  g_mutex_init (&gate.lock);
  g_cond_init (&gate.cond);
  thread = g_thread_new ("build", build_worker, &gate);

  g_mutex_lock (&gate.lock);
  for (;;)
    {
      gint64 built;

      while (gate.serial == gate.released && !gate.done)
        g_cond_wait (&gate.cond, &gate.lock);
      if (gate.serial == gate.released)
        break;
      g_mutex_unlock (&gate.lock);

      /* The builder waits in its progress callback: the prefix is still. */
      built = imp_pyramid_get_built_samples (pyr);
      g_assert_cmpint (built, >, 0);
      g_assert_cmpint (built, <, ref.n);
      straddled |= built % ref_bin (ref.n_levels - 1) != 0;
      check_levels (pyr, &ref, built);
      check_columns (pyr, &ref, built, built - 3000, 777, 20);
      pauses++;

      g_mutex_lock (&gate.lock);
      gate.released = gate.serial;
      g_cond_broadcast (&gate.cond);
    }
  g_mutex_unlock (&gate.lock);
  g_thread_join (thread);

  g_assert_true (gate.ok);
  g_assert_cmpuint (pauses, >=, 3);
  /* A top bin longer than a block of the build was in progress at some
   * pause. */
  if (ref_bin (ref.n_levels - 1) > 8192)
    g_assert_true (straddled);
  check_levels (pyr, &ref, ref.n);
  g_mutex_clear (&gate.lock);
  g_cond_clear (&gate.cond);
  ref_clear (&ref);
  _imp_pyramid_reset_limits ();
}

static void
test_concurrent (void)
{
  check_concurrent (long_recording (), TRUE, 137);
  check_concurrent (long_recording (), FALSE, 201);
  check_concurrent (wide_recording (), TRUE, 5);
}

/* Read-only folders */

/* As root, folder permissions do not stop writes: become nobody. FALSE
 * if that is impossible here (a user namespace without that user). */
static gboolean
drop_privileges (void)
{
  if (geteuid () != 0)
    return TRUE;
  return setgid (65534) == 0 && setuid (65534) == 0;
}

static void
test_readonly_child (void)
{
  g_autofree char *dir = tmp_file ("readonly");
  g_autofree char *cache = tmp_file ("cache");
  g_autofree char *path = g_build_filename (dir, "rec.h5", NULL);
  g_autofree char *path2 = g_build_filename (dir, "rec2.h5", NULL);
  g_autofree char *absolute = NULL;
  g_autofree char *hash = NULL;
  g_autofree char *expected = NULL;
  g_autofree char *project = NULL;
  g_autoptr(ImpRecording) rec = NULL;
  g_autoptr(ImpPyramid) pyr = NULL;
  g_autoptr(GError) error = NULL;
  Ref ref;

  g_setenv ("XDG_CACHE_HOME", cache, TRUE);
  if (!drop_privileges ())
    {
      g_test_skip ("running as root, and cannot become another user");
      return;
    }

  project = imp_project_path_for (path);
  absolute = g_canonicalize_filename (path, NULL);
  hash = g_compute_checksum_for_string (G_CHECKSUM_SHA256, absolute, -1);
  hash[16] = '\0';
  expected = g_strdup_printf ("%s/imprint/rec.h5-%s.imprint", cache, hash);
  g_assert_cmpstr (project, ==, expected);

  rec = open_recording (path);
  pyr = open_pyramid (rec, NULL);
  g_assert_cmpstr (imp_pyramid_get_path (pyr), ==, expected);
  build_ok (pyr);
  g_assert_true (g_file_test (expected, G_FILE_TEST_IS_REGULAR));
  g_assert_cmpuint (count_others (dir, "rec.h5"), ==, 1); /* rec2.h5 */
  g_clear_pointer (&pyr, imp_pyramid_unref);
  pyr = open_pyramid (rec, NULL);
  g_assert_true (imp_pyramid_is_complete (pyr));
  g_clear_pointer (&pyr, imp_pyramid_unref);
  g_clear_pointer (&rec, imp_recording_unref);

  /* Nowhere to write: complete in memory, and said. */
  {
    g_autofree char *imprint = g_build_filename (cache, "imprint", NULL);

    g_assert_cmpint (g_chmod (imprint, 0555), ==, 0);
  }
  rec = open_recording (path2);
  pyr = open_pyramid (rec, NULL);
  g_assert_false (imp_pyramid_build (pyr, NULL, NULL, NULL, &error));
  g_assert_error (error, IMP_RECORDING_ERROR, IMP_RECORDING_ERROR_IO);
  g_test_message ("%s", error->message);
  g_assert_true (imp_pyramid_is_complete (pyr));
  g_assert_false (g_file_test (imp_pyramid_get_path (pyr),
                               G_FILE_TEST_EXISTS));
  ref_init (&ref, rec);
  check_levels (pyr, &ref, ref.n);
  check_unaligned (pyr, &ref, ref.n);
  ref_clear (&ref);
}

static void
test_readonly (void)
{
  g_autofree char *dir = tmp_file ("readonly");
  g_autofree char *cache = tmp_file ("cache");
  g_autofree char *path = g_build_filename (dir, "rec.h5", NULL);
  g_autofree char *path2 = g_build_filename (dir, "rec2.h5", NULL);

  g_assert_cmpint (g_mkdir (dir, 0755), ==, 0);
  g_assert_cmpint (g_mkdir (cache, 0777), ==, 0);
  g_assert_cmpint (g_chmod (cache, 0777), ==, 0);
  write_native (path, 2, 70000, NULL, 10);
  write_native (path2, 2, 70000, NULL, 11);
  g_assert_cmpint (g_chmod (dir, 0555), ==, 0);

  g_test_trap_subprocess ("/imp/Pyramid/readonly/subprocess", 0,
                          G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_test_trap_assert_passed ();
  g_chmod (dir, 0755);
}

/* The project file */

static void
test_project_groups (void)
{
  g_autofree char *path = tmp_file ("groups.h5");
  g_autofree char *project = g_strconcat (path, ".imprint", NULL);
  g_autoptr(ImpRecording) rec = NULL;
  g_autoptr(ImpPyramid) pyr = NULL;
  g_autoptr(ImpProjectWriter) writer = NULL;
  g_autoptr(ImpProject) opened = NULL;
  g_autoptr(GError) error = NULL;
  hid_t group;

  write_native (path, 2, 20000, NULL, 12);
  rec = open_recording (path);

  /* Another part of the program saves a group first. */
  writer = imp_project_writer_new (project, rec, &error);
  g_assert_no_error (error);
  group = imp_project_writer_add_group (writer, "results", &error);
  g_assert_no_error (error);
  H5Gclose (group);
  g_assert_true (imp_project_writer_commit (writer, NULL, &error));
  g_assert_no_error (error);
  g_clear_pointer (&writer, imp_project_writer_free);

  /* The pyramid's new version keeps it. */
  pyr = open_pyramid (rec, NULL);
  g_assert_false (imp_pyramid_is_complete (pyr));
  build_ok (pyr);
  opened = imp_project_open (project, rec, &error);
  g_assert_no_error (error);
  g_assert_true (imp_project_has_group (opened, "results"));
  g_assert_true (imp_project_has_group (opened, "pyramid"));
  g_clear_pointer (&opened, imp_project_close);

  /* A writer that drops it; the pyramid is copied along. */
  writer = imp_project_writer_new (project, rec, &error);
  g_assert_no_error (error);
  imp_project_writer_drop_group (writer, "results");
  g_assert_true (imp_project_writer_commit (writer, &opened, &error));
  g_assert_no_error (error);
  g_assert_false (imp_project_has_group (opened, "results"));
  g_assert_true (imp_project_has_group (opened, "pyramid"));
  g_clear_pointer (&opened, imp_project_close);
  g_clear_pointer (&pyr, imp_pyramid_unref);
  pyr = open_pyramid (rec, NULL);
  g_assert_true (imp_pyramid_is_complete (pyr));

  /* Nothing is left beside it. */
  {
    g_autoptr(GDir) d = g_dir_open (tmpdir, 0, NULL);
    const char *name;

    while ((name = g_dir_read_name (d)) != NULL)
      g_assert_null (strstr (name, ".tmp-"));
  }
}

/* A project file from a newer program is neither read nor replaced. */
static void
test_project_newer (void)
{
  g_autofree char *path = tmp_file ("newer.h5");
  g_autofree char *project = g_strconcat (path, ".imprint", NULL);
  g_autoptr(ImpRecording) rec = NULL;
  g_autoptr(ImpPyramid) pyr = NULL;
  g_autoptr(ImpProject) opened = NULL;
  g_autoptr(GError) error = NULL;
  hid_t file, attr, space;
  gint64 version = 99;
  gint64 mtime;

  write_native (path, 2, 20000, NULL, 13);
  rec = open_recording (path);
  pyr = open_pyramid (rec, NULL);
  build_ok (pyr);
  g_clear_pointer (&pyr, imp_pyramid_unref);

  file = H5Fopen (project, H5F_ACC_RDWR, H5P_DEFAULT);
  g_assert_cmpint (file, >=, 0);
  H5Adelete (file, "imprint_format_version");
  space = H5Screate (H5S_SCALAR);
  attr = H5Acreate2 (file, "imprint_format_version", H5T_STD_I64LE, space,
                     H5P_DEFAULT, H5P_DEFAULT);
  H5Awrite (attr, H5T_NATIVE_INT64, &version);
  H5Aclose (attr);
  H5Sclose (space);
  H5Fclose (file);
  mtime = mtime_of (project);

  opened = imp_project_open (project, rec, &error);
  g_assert_error (error, IMP_PROJECT_ERROR, IMP_PROJECT_ERROR_NEWER);
  g_clear_error (&error);
  pyr = open_pyramid (rec, NULL);
  g_assert_false (imp_pyramid_is_complete (pyr));
  g_assert_false (imp_pyramid_build (pyr, NULL, NULL, NULL, &error));
  g_assert_error (error, IMP_RECORDING_ERROR, IMP_RECORDING_ERROR_IO);
  g_assert_true (imp_pyramid_is_complete (pyr));
  g_assert_cmpint (mtime_of (project), ==, mtime);
}

/* A project path that names the recording: never written. */
static void
test_project_is_recording (void)
{
  g_autofree char *path = tmp_file ("itself.h5");
  g_autoptr(ImpRecording) rec = NULL;
  g_autoptr(ImpPyramid) pyr = NULL;
  g_autoptr(GError) error = NULL;
  gint64 mtime;
  Ref ref;

  write_native (path, 2, 20000, NULL, 16);
  mtime = mtime_of (path);
  rec = open_recording (path);
  pyr = open_pyramid (rec, path);
  g_assert_false (imp_pyramid_build (pyr, NULL, NULL, NULL, &error));
  g_assert_error (error, IMP_RECORDING_ERROR, IMP_RECORDING_ERROR_IO);
  g_assert_true (imp_pyramid_is_complete (pyr));
  g_assert_cmpint (mtime_of (path), ==, mtime);
  ref_init (&ref, rec);
  check_levels (pyr, &ref, ref.n);
  ref_clear (&ref);
}

/* The command line */

static void
run_cli (const char * const *args,
         int                 expect_status,
         char              **out,
         char              **err)
{
  const char *exe = g_getenv ("IMP_EXE");
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  int status = 0;

  g_assert_nonnull (exe);
  g_ptr_array_add (argv, (gpointer) exe);
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);
  g_assert_true (g_spawn_sync (NULL, (char **) argv->pdata, NULL, 0, NULL,
                               NULL, out, err, &status, &error));
  g_assert_no_error (error);
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, expect_status);
}

static void
test_cli (void)
{
  g_autofree char *path = tmp_file ("cli.h5");
  g_autofree char *missing = tmp_file ("no-such.h5");
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;

  write_native (path, 3, 50000, NULL, 14);
  {
    const char *args[] = { "pyramid", path, NULL };

    run_cli (args, 0, &out, &err);
    g_assert_nonnull (strstr (out, "levels of int16"));
    g_assert_nonnull (strstr (out, "built in"));
    g_assert_nonnull (strstr (err, "Building the overview: 100%"));
    g_clear_pointer (&out, g_free);
    g_clear_pointer (&err, g_free);
    run_cli (args, 0, &out, &err);
    g_assert_nonnull (strstr (out, "loaded"));
    g_clear_pointer (&out, g_free);
    g_clear_pointer (&err, g_free);
  }
  {
    const char *args[] = { "pyramid", missing, NULL };

    run_cli (args, 1, &out, &err);
    g_assert_cmpint (strlen (out), ==, 0);
    g_assert_true (g_str_has_prefix (err, "imprint: "));
    g_assert_cmpint (strchr (err, '\n') - err, ==, strlen (err) - 1);
    g_clear_pointer (&out, g_free);
    g_clear_pointer (&err, g_free);
  }
  {
    const char *args[] = { "pyramid", NULL };

    run_cli (args, 2, &out, &err);
    g_clear_pointer (&out, g_free);
    g_clear_pointer (&err, g_free);
  }
  {
    const char *args[] = { "pyramid", path, "--project", path, NULL };

    run_cli (args, 2, &out, &err);
    g_assert_nonnull (strstr (err, "is the input recording"));
  }
}

static void
remove_tree (const char *dir)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;

  if (d == NULL)
    return;
  g_chmod (dir, 0755);
  while ((name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);

      if (g_file_test (path, G_FILE_TEST_IS_DIR))
        remove_tree (path);
      else
        g_unlink (path);
    }
  g_rmdir (dir);
}

int
main (int   argc,
      char *argv[])
{
  int ret;

  g_test_init (&argc, &argv, NULL);
  /* A subprocess works in its parent's folder. */
  if (g_test_subprocess ())
    tmpdir = g_strdup (g_getenv ("IMP_PYRAMID_TEST_DIR"));
  else
    {
      tmpdir = g_dir_make_tmp ("imp-pyramid-XXXXXX", NULL);
      g_setenv ("IMP_PYRAMID_TEST_DIR", tmpdir, TRUE);
    }
  g_assert_nonnull (tmpdir);
  /* Reachable by the unprivileged child of the read-only test. */
  g_chmod (tmpdir, 0755);

  g_test_add_data_func ("/imp/Pyramid/long", GINT_TO_POINTER (FALSE),
                        test_long);
  g_test_add_data_func ("/imp/Pyramid/long-small-memory",
                        GINT_TO_POINTER (TRUE), test_long);
  g_test_add_data_func ("/imp/Pyramid/wide", GINT_TO_POINTER (FALSE),
                        test_wide);
  g_test_add_data_func ("/imp/Pyramid/wide-small-memory",
                        GINT_TO_POINTER (TRUE), test_wide);
  g_test_add_func ("/imp/Pyramid/tiny", test_tiny);
  g_test_add_data_func ("/imp/Pyramid/nwb-float-nan",
                        GINT_TO_POINTER (NWB_FLOAT), test_nwb);
  g_test_add_data_func ("/imp/Pyramid/nwb-int16-nan",
                        GINT_TO_POINTER (NWB_INT16), test_nwb);
  g_test_add_data_func ("/imp/Pyramid/nwb-not-codes",
                        GINT_TO_POINTER (NWB_MIXED), test_nwb);
  g_test_add_func ("/imp/Pyramid/reuse", test_reuse);
  g_test_add_func ("/imp/Pyramid/stale", test_stale);
  g_test_add_data_func ("/imp/Pyramid/damaged/truncated",
                        GINT_TO_POINTER (DAMAGE_TRUNCATE), test_damaged);
  g_test_add_data_func ("/imp/Pyramid/damaged/header",
                        GINT_TO_POINTER (DAMAGE_HEADER), test_damaged);
  g_test_add_data_func ("/imp/Pyramid/damaged/empty",
                        GINT_TO_POINTER (DAMAGE_EMPTY), test_damaged);
  g_test_add_data_func ("/imp/Pyramid/damaged/text",
                        GINT_TO_POINTER (DAMAGE_TEXT), test_damaged);
  g_test_add_data_func ("/imp/Pyramid/damaged/metadata",
                        GINT_TO_POINTER (DAMAGE_METADATA), test_damaged);
  g_test_add_func ("/imp/Pyramid/damaged/chunk", test_damaged_chunk);
  g_test_add_func ("/imp/Pyramid/cancel", test_cancel);
  g_test_add_func ("/imp/Pyramid/orphans", test_orphans);
  g_test_add_func ("/imp/Pyramid/concurrent", test_concurrent);
  g_test_add_func ("/imp/Pyramid/readonly", test_readonly);
  g_test_add_func ("/imp/Pyramid/readonly/subprocess", test_readonly_child);
  g_test_add_func ("/imp/Pyramid/project-groups", test_project_groups);
  g_test_add_func ("/imp/Pyramid/project-newer", test_project_newer);
  g_test_add_func ("/imp/Pyramid/project-is-recording",
                   test_project_is_recording);
  g_test_add_func ("/imp/Pyramid/cli", test_cli);

  ret = g_test_run ();
  if (!g_test_subprocess ())
    remove_tree (tmpdir);
  g_free (tmpdir);

  return ret;
}
