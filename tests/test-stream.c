/* test-stream.c
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <math.h>
#include <string.h>

#include <glib/gstdio.h>
#include <hdf5.h>

#include "imp-analysis.h"
#include "imp-native.h"
#include "imp-recording.h"
#include "imp-simulate.h"
#include "imp-stream.h"

/* Neither channels nor samples fill the last chunk: 100 channels in
 * chunks of 64, three rows of 8192 samples and a part. */
#define N_CH     100
#define N_SAMP   (3 * 8192 + 1234)
#define SWEEP_1  15000
#define RATE     10000.0
#define BLOCK    8192
#define PAD      600

static char *tmpdir;

static char *
tmp_file (const char *name)
{
  return g_build_filename (tmpdir, name, NULL);
}

/* Counts that fill the int16 range, extremes included, and differ from
 * channel to channel and sample to sample. */
static gint16
count_at (gint64 s,
          guint  c)
{
  guint32 h = (guint32) s * 2654435761u ^ (c + 1) * 40503u;

  h ^= h >> 15;
  h *= 2246822519u;
  h ^= h >> 13;
  if (h % 997 == 0)
    return h % 2 ? G_MAXINT16 : G_MININT16;
  return (gint16) (h >> 16);
}

static void
write_native (const char *path)
{
  g_autoptr(ImpNativeWriter) w = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree gint16 *counts = g_new (gint16, (gsize) N_SAMP * N_CH);

  w = imp_native_writer_new (path, N_CH, RATE, &error);
  g_assert_no_error (error);
  for (guint c = 0; c < N_CH; c++)
    {
      g_autofree char *label = g_strdup_printf ("C%u", c);

      imp_native_writer_set_channel (w, c, label, c % 9 == 4 ? "pA" : "mV",
                                     0.001 * (1 + c % 7), -65.0 + 0.01 * c,
                                     c, 0, IMP_ACCESS_UNKNOWN);
    }
  for (gint64 s = 0; s < N_SAMP; s++)
    for (guint c = 0; c < N_CH; c++)
      counts[s * N_CH + c] = count_at (s, c);
  g_assert_true (imp_native_writer_append (w, counts, N_SAMP, &error));
  imp_native_writer_add_sweep (w, SWEEP_1, 0.0);
  imp_native_writer_add_sweep (w, N_SAMP - SWEEP_1, 10.0);
  g_assert_true (imp_native_writer_close (w, &error));
  g_assert_no_error (error);
}

typedef enum
{
  DATA_DEFLATE = 1 << 0,
  DATA_SHUFFLE = 1 << 1,
  DATA_BIG_ENDIAN = 1 << 2,
  DATA_FLETCHER = 1 << 3,
} DataOptions;

/* Replaces /data of a native file by the same counts written through
 * HDF5's own filters, chunked as the format says. */
static void
rewrite_data (const char *path,
              guint       options)
{
  hsize_t dims[2] = { N_SAMP, N_CH };
  hsize_t chunk[2] = { 8192, 64 };
  g_autofree gint16 *counts = g_new (gint16, (gsize) N_SAMP * N_CH);
  hid_t file, space, dcpl, dset;

  for (gint64 s = 0; s < N_SAMP; s++)
    for (guint c = 0; c < N_CH; c++)
      counts[s * N_CH + c] = count_at (s, c);
  file = H5Fopen (path, H5F_ACC_RDWR, H5P_DEFAULT);
  g_assert_cmpint (file, >=, 0);
  g_assert_cmpint (H5Ldelete (file, "data", H5P_DEFAULT), >=, 0);
  space = H5Screate_simple (2, dims, NULL);
  dcpl = H5Pcreate (H5P_DATASET_CREATE);
  H5Pset_chunk (dcpl, 2, chunk);
  if (options & DATA_SHUFFLE)
    H5Pset_shuffle (dcpl);
  if (options & DATA_DEFLATE)
    H5Pset_deflate (dcpl, 4);
  if (options & DATA_FLETCHER)
    H5Pset_fletcher32 (dcpl);
  dset = H5Dcreate2 (file, "data", options & DATA_BIG_ENDIAN
                                   ? H5T_STD_I16BE : H5T_STD_I16LE,
                     space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  g_assert_cmpint (dset, >=, 0);
  g_assert_cmpint (H5Dwrite (dset, H5T_NATIVE_INT16, H5S_ALL, H5S_ALL,
                             H5P_DEFAULT, counts), >=, 0);
  H5Dclose (dset);
  H5Pclose (dcpl);
  H5Sclose (space);
  H5Fclose (file);
}

static ImpRecording *
open_ok (const char *path)
{
  g_autoptr(GError) error = NULL;
  ImpRecording *rec = imp_recording_open (path, &error);

  g_assert_no_error (error);
  g_assert_nonnull (rec);
  return rec;
}

/* All samples as HDF5's own reading gives them, channel-major. */
static float *
read_all (ImpRecording *rec)
{
  g_autoptr(GError) error = NULL;
  guint n_ch = imp_recording_get_n_channels (rec);
  gint64 n = imp_recording_get_n_samples (rec);
  float *x = g_new (float, (gsize) n_ch * n);

  g_assert_true (imp_recording_read (rec, 0, n_ch, 0, n, x, &error));
  g_assert_no_error (error);
  return x;
}

typedef struct
{
  const float *reference;   /* n_channels × n_samples */
  float       *seen;        /* what the blocks held, the same shape */
  gint64       n_samples;
  guint        n_groups;
  gint        *busy;        /* per group: a block of it is running */
  gint        *last_block;  /* per group */
  gint         bad_pads;    /* padding that differs from the reference */
  gint         bad_order;   /* a group's blocks out of order or at once */
  gint         blocks;
  GCancellable *cancel_at_first;
} Collect;

static void
collect_cb (const ImpStreamBlock *block,
            gpointer              data)
{
  Collect *col = data;

  if (!g_atomic_int_compare_and_exchange (&col->busy[block->group], 0, 1)
      || (gint) block->block <= col->last_block[block->group])
    g_atomic_int_inc (&col->bad_order);
  col->last_block[block->group] = (gint) block->block;
  g_assert_cmpint (block->r0, <=, block->t0);
  g_assert_cmpint (block->r0 + (gint64) block->len, >=, block->t1);

  for (guint c = 0; c < block->n_channels; c++)
    {
      guint ch = block->first_channel + c;
      const float *x = block->samples + c * block->len;
      const float *ref = col->reference + ch * col->n_samples + block->r0;

      if (memcmp (x, ref, block->len * sizeof (float)) != 0)
        g_atomic_int_inc (&col->bad_pads);
      memcpy (col->seen + ch * col->n_samples + block->t0,
              x + (block->t0 - block->r0),
              (block->t1 - block->t0) * sizeof (float));
    }
  g_atomic_int_inc (&col->blocks);
  if (col->cancel_at_first != NULL)
    g_cancellable_cancel (col->cancel_at_first);
  g_atomic_int_set (&col->busy[block->group], 0);
}

/* Streams @rec (raw chunks when @direct) and checks every block, padding
 * included, against HDF5's own reading, and that the blocks cover every
 * sample once. */
static void
check_stream (ImpRecording   *rec,
              gboolean        direct,
              guint           n_workers,
              ImpStreamStats *stats)
{
  g_autoptr(ImpStream) stream = imp_stream_new (rec, BLOCK, PAD, PAD);
  g_autoptr(GError) error = NULL;
  g_autofree float *reference = read_all (rec);
  gint64 n = imp_recording_get_n_samples (rec);
  guint n_ch = imp_recording_get_n_channels (rec);
  g_autofree float *seen = g_new (float, (gsize) n_ch * n);
  guint n_groups;
  Collect col = { 0 };

  imp_stream_set_direct (stream, direct);
  imp_stream_set_n_workers (stream, n_workers);
  n_groups = imp_stream_get_n_groups (stream);
  g_assert_cmpuint (n_groups, >, 1);
  /* Blocks stay in their sweep; the remainder of a sweep joins. */
  g_assert_cmpuint (imp_stream_get_n_blocks (stream), ==, 3);
  g_assert_cmpuint (imp_stream_block_at (stream, 0), ==, 0);
  g_assert_cmpuint (imp_stream_block_at (stream, BLOCK), ==, 1);
  g_assert_cmpuint (imp_stream_block_at (stream, SWEEP_1 - 1), ==, 1);
  g_assert_cmpuint (imp_stream_block_at (stream, SWEEP_1), ==, 2);
  g_assert_cmpuint (imp_stream_block_at (stream, N_SAMP), ==, 3);

  for (gsize i = 0; i < (gsize) n_ch * n; i++)
    seen[i] = NAN;
  col.reference = reference;
  col.seen = seen;
  col.n_samples = n;
  col.n_groups = n_groups;
  col.busy = g_new0 (gint, n_groups);
  col.last_block = g_new (gint, n_groups);
  for (guint g = 0; g < n_groups; g++)
    col.last_block[g] = -1;

  g_assert_true (imp_stream_run (stream, collect_cb, &col, NULL, NULL, NULL,
                                 &error));
  g_assert_no_error (error);
  g_assert_cmpint (col.bad_order, ==, 0);
  g_assert_cmpint (col.bad_pads, ==, 0);
  g_assert_cmpint (col.blocks, ==, 3 * n_groups);
  g_assert_cmpmem (seen, (gsize) n_ch * n * sizeof (float),
                   reference, (gsize) n_ch * n * sizeof (float));
  imp_stream_get_stats (stream, stats);
  g_free (col.busy);
  g_free (col.last_block);
}

static void
check_file (const char *path,
            gboolean    expect_direct,
            gboolean    expect_compressed)
{
  g_autoptr(ImpRecording) rec = open_ok (path);
  ImpStreamStats stats;

  check_stream (rec, TRUE, 2, &stats);
  g_assert_cmpint (stats.direct, ==, expect_direct);
  g_test_message ("%s: %" G_GUINT64_FORMAT " reads, %" G_GUINT64_FORMAT
                  " bytes", path, stats.chunks_read, stats.bytes_read);
  if (expect_direct)
    /* 4 rows of 2 chunk columns */
    g_assert_cmpuint (stats.chunks_read, ==, 8);
  if (expect_compressed)
    g_assert_cmpuint (stats.bytes_read, <, 8 * 8192 * 64 * 2);

  check_stream (rec, FALSE, 2, &stats);
  g_assert_false (stats.direct);
  check_stream (rec, TRUE, 1, &stats);
  check_stream (rec, TRUE, 3, &stats);
}

static void
test_plain (void)
{
  g_autofree char *path = tmp_file ("plain.h5");

  write_native (path);
  check_file (path, TRUE, FALSE);
}

/* Chunks compressed by HDF5's own deflate filter, decompressed by
 * libdeflate on the workers: the same samples as HDF5 reads. */
static void
test_deflate (void)
{
  g_autofree char *path = tmp_file ("deflate.h5");

  write_native (path);
  rewrite_data (path, DATA_DEFLATE);
  check_file (path, TRUE, TRUE);
}

static void
test_shuffle_deflate (void)
{
  g_autofree char *path = tmp_file ("shuffle.h5");

  write_native (path);
  rewrite_data (path, DATA_SHUFFLE | DATA_DEFLATE);
  check_file (path, TRUE, TRUE);
}

static void
test_big_endian (void)
{
  g_autofree char *path = tmp_file ("big-endian.h5");
  g_autofree char *path2 = tmp_file ("big-endian-deflate.h5");

  write_native (path);
  rewrite_data (path, DATA_BIG_ENDIAN);
  check_file (path, TRUE, FALSE);
  write_native (path2);
  rewrite_data (path2, DATA_BIG_ENDIAN | DATA_SHUFFLE | DATA_DEFLATE);
  check_file (path2, TRUE, TRUE);
}

/* A filter the workers do not decode (a checksum) sends reading through
 * HDF5's own pipeline. */
static void
test_other_filter (void)
{
  g_autofree char *path = tmp_file ("fletcher.h5");

  write_native (path);
  rewrite_data (path, DATA_DEFLATE | DATA_FLETCHER);
  check_file (path, FALSE, FALSE);
}

typedef struct
{
  guint8 *got;
  guint   n_groups;
} Wanted;

static void
wanted_cb (const ImpStreamBlock *block,
           gpointer              data)
{
  Wanted *w = data;

  w->got[block->block * w->n_groups + block->group]++;
}

/* Only the blocks asked for are read and delivered. */
static void
test_wanted (void)
{
  g_autofree char *path = tmp_file ("wanted.h5");
  g_autoptr(ImpRecording) rec = NULL;
  g_autoptr(ImpStream) stream = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree guint8 *got = NULL;
  ImpStreamStats stats;
  Wanted w;
  guint n_blocks, b, g;

  write_native (path);
  rewrite_data (path, DATA_DEFLATE);
  rec = open_ok (path);
  stream = imp_stream_new (rec, BLOCK, 0, PAD);
  n_blocks = imp_stream_get_n_blocks (stream);
  w.n_groups = imp_stream_get_n_groups (stream);
  got = g_new0 (guint8, n_blocks * w.n_groups);
  w.got = got;
  imp_stream_want (stream, 0, 0);
  imp_stream_want (stream, 2, w.n_groups - 1);
  g_assert_true (imp_stream_run (stream, wanted_cb, &w, NULL, NULL, NULL,
                                 &error));
  g_assert_no_error (error);
  for (b = 0; b < n_blocks; b++)
    for (g = 0; g < w.n_groups; g++)
      g_assert_cmpuint (got[b * w.n_groups + g], ==,
                        (b == 0 && g == 0)
                        || (b == 2 && g == w.n_groups - 1));
  /* Block 0 (samples 0 .. 8792 with its padding) of the first channels:
   * two chunks of the first column; block 2 (15000 to the end) of the last
   * channels: three of the second. */
  imp_stream_get_stats (stream, &stats);
  g_assert_cmpuint (stats.chunks_read, ==, 5);
}

static void
test_cancel (void)
{
  g_autofree char *path = tmp_file ("cancel.h5");
  g_autoptr(ImpRecording) rec = NULL;
  g_autoptr(ImpStream) stream = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  g_autofree float *reference = NULL;
  g_autofree float *seen = NULL;
  Collect col = { 0 };
  guint n_groups;
  gint64 start;

  write_native (path);
  rec = open_ok (path);
  reference = read_all (rec);
  seen = g_new (float, (gsize) N_CH * N_SAMP);
  stream = imp_stream_new (rec, 1024, PAD, PAD);
  imp_stream_set_n_workers (stream, 1);
  n_groups = imp_stream_get_n_groups (stream);
  col.reference = reference;
  col.seen = seen;
  col.n_samples = N_SAMP;
  col.busy = g_new0 (gint, n_groups);
  col.last_block = g_new (gint, n_groups);
  for (guint g = 0; g < n_groups; g++)
    col.last_block[g] = -1;
  col.cancel_at_first = cancellable;

  start = g_get_monotonic_time ();
  g_assert_false (imp_stream_run (stream, collect_cb, &col, NULL, NULL,
                                  cancellable, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpint (g_get_monotonic_time () - start, <, G_USEC_PER_SEC);
  /* The worker stops after the block it is on. */
  g_assert_cmpint (col.blocks, <, 3);
  g_free (col.busy);
  g_free (col.last_block);
}

/* A compressed chunk whose bytes were damaged is an error that names it,
 * on both paths. */
static void
test_damaged_chunk (void)
{
  g_autofree char *path = tmp_file ("damaged.h5");
  /* a chunk that opening the file does not read */
  hsize_t offset[2] = { 16384, 0 };
  unsigned mask = 0;
  haddr_t addr = 0;
  hsize_t size = 0;
  hid_t file, dset;

  write_native (path);
  rewrite_data (path, DATA_DEFLATE);
  file = H5Fopen (path, H5F_ACC_RDONLY, H5P_DEFAULT);
  dset = H5Dopen2 (file, "data", H5P_DEFAULT);
  g_assert_cmpint (H5Dget_chunk_info_by_coord (dset, offset, &mask, &addr,
                                               &size), >=, 0);
  H5Dclose (dset);
  H5Fclose (file);
  g_assert_cmpuint (size, >, 100);

  {
    FILE *fp = g_fopen (path, "r+b");
    guint8 junk[64];

    memset (junk, 0x5a, sizeof junk);
    g_assert_nonnull (fp);
    g_assert_cmpint (fseek (fp, (long) (addr + size / 2), SEEK_SET), ==, 0);
    g_assert_cmpuint (fwrite (junk, 1, sizeof junk, fp), ==, sizeof junk);
    fclose (fp);
  }

  for (guint direct = 0; direct < 2; direct++)
    {
      g_autoptr(ImpRecording) rec = open_ok (path);
      g_autoptr(ImpStream) stream = imp_stream_new (rec, BLOCK, PAD, PAD);
      g_autoptr(GError) error = NULL;
      Wanted w;
      g_autofree guint8 *got = NULL;

      w.n_groups = imp_stream_get_n_groups (stream);
      got = g_new0 (guint8, 3 * w.n_groups);
      w.got = got;
      imp_stream_set_direct (stream, direct);
      g_assert_false (imp_stream_run (stream, wanted_cb, &w, NULL, NULL,
                                      NULL, &error));
      g_assert_nonnull (error);
      g_test_message ("%s", error->message);
      g_assert_null (strchr (error->message, '\n'));
      if (direct)
        g_assert_nonnull (strstr (error->message, "chunk of samples 16384 "
                                  "and channels 0 cannot be read"));
    }
}

/* The whole analysis gives the same result on a recording and on its
 * deflate-compressed copy. */
static void
test_analysis_compressed (void)
{
  g_autofree char *plain = tmp_file ("sim.h5");
  g_autofree char *packed = tmp_file ("sim-deflate.h5");
  g_autoptr(GError) error = NULL;
  g_autoptr(ImpAnalysisResult) a = NULL;
  g_autoptr(ImpAnalysisResult) b = NULL;
  ImpAnalysisParams params;
  ImpSimParams p;

  imp_sim_params_init_default (&p);
  p.n_neurons = 40;
  p.duration_s = 20;
  g_assert_true (imp_simulate (&p, plain, NULL, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  {
    g_autofree gint16 *counts = g_new (gint16, 40 * 200000);
    g_autofree char *bytes = NULL;
    gsize size;
    hsize_t dims[2] = { 200000, 40 };
    hsize_t chunk[2] = { 8192, 40 };
    hid_t file, space, dcpl, dset;

    g_assert_true (g_file_get_contents (plain, &bytes, &size, NULL));
    g_assert_true (g_file_set_contents (packed, bytes, size, NULL));
    file = H5Fopen (packed, H5F_ACC_RDWR, H5P_DEFAULT);
    dset = H5Dopen2 (file, "data", H5P_DEFAULT);
    g_assert_cmpint (H5Dread (dset, H5T_NATIVE_INT16, H5S_ALL, H5S_ALL,
                              H5P_DEFAULT, counts), >=, 0);
    H5Dclose (dset);
    g_assert_cmpint (H5Ldelete (file, "data", H5P_DEFAULT), >=, 0);
    space = H5Screate_simple (2, dims, NULL);
    dcpl = H5Pcreate (H5P_DATASET_CREATE);
    H5Pset_chunk (dcpl, 2, chunk);
    H5Pset_deflate (dcpl, 1);
    dset = H5Dcreate2 (file, "data", H5T_STD_I16LE, space, H5P_DEFAULT,
                       dcpl, H5P_DEFAULT);
    g_assert_cmpint (H5Dwrite (dset, H5T_NATIVE_INT16, H5S_ALL, H5S_ALL,
                               H5P_DEFAULT, counts), >=, 0);
    H5Dclose (dset);
    H5Pclose (dcpl);
    H5Sclose (space);
    H5Fclose (file);
  }

  imp_analysis_params_init_default (&params);
  {
    g_autoptr(ImpRecording) ra = open_ok (plain);
    g_autoptr(ImpRecording) rb = open_ok (packed);

    a = imp_analysis_run (ra, &params, NULL, NULL, NULL, &error);
    g_assert_no_error (error);
    b = imp_analysis_run (rb, &params, NULL, NULL, NULL, &error);
    g_assert_no_error (error);
  }
  g_assert_cmpuint (a->n_connections, >, 5);
  g_assert_cmpuint (a->n_connections, ==, b->n_connections);
  g_assert_cmpuint (a->candidates->len, ==, b->candidates->len);
  for (guint c = 0; c < 40; c++)
    {
      g_assert_cmpuint (a->aps[c]->len, ==, b->aps[c]->len);
      g_assert_cmpuint (a->psps[c]->len, ==, b->psps[c]->len);
      g_assert_cmpmem (a->psps[c]->data, a->psps[c]->len * sizeof (ImpEvent),
                       b->psps[c]->data, b->psps[c]->len * sizeof (ImpEvent));
    }
  for (guint i = 0; i < a->candidates->len; i++)
    {
      const ImpCandidate *ca = g_ptr_array_index (a->candidates, i);
      const ImpCandidate *cb = g_ptr_array_index (b->candidates, i);

      g_assert_cmpuint (ca->pre, ==, cb->pre);
      g_assert_cmpuint (ca->post, ==, cb->post);
      g_assert_cmpfloat (ca->p_value, ==, cb->p_value);
      g_assert_cmpfloat (ca->amplitude_mv, ==, cb->amplitude_mv);
      g_assert_cmpuint (ca->n_trials, ==, cb->n_trials);
      g_assert_cmpmem (ca->trial_amplitudes, ca->n_trials * sizeof (float),
                       cb->trial_amplitudes, cb->n_trials * sizeof (float));
    }
}

int
main (int    argc,
      char **argv)
{
  int status;

  g_test_init (&argc, &argv, NULL);
  tmpdir = g_dir_make_tmp ("imp-test-stream-XXXXXX", NULL);
  g_assert_nonnull (tmpdir);

  g_test_add_func ("/imp/Stream/plain", test_plain);
  g_test_add_func ("/imp/Stream/deflate", test_deflate);
  g_test_add_func ("/imp/Stream/shuffle-deflate", test_shuffle_deflate);
  g_test_add_func ("/imp/Stream/big-endian", test_big_endian);
  g_test_add_func ("/imp/Stream/other-filter", test_other_filter);
  g_test_add_func ("/imp/Stream/wanted", test_wanted);
  g_test_add_func ("/imp/Stream/cancel", test_cancel);
  g_test_add_func ("/imp/Stream/damaged-chunk", test_damaged_chunk);
  g_test_add_func ("/imp/Stream/analysis-compressed",
                   test_analysis_compressed);
  status = g_test_run ();

  {
    g_autoptr(GDir) dir = g_dir_open (tmpdir, 0, NULL);
    const char *name;

    while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
      {
        g_autofree char *file = g_build_filename (tmpdir, name, NULL);

        g_unlink (file);
      }
    g_rmdir (tmpdir);
    g_free (tmpdir);
  }
  return status;
}
