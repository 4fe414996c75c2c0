/* imp-pyramid.c
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <math.h>
#include <string.h>

#include "imp-project.h"
#include "imp-pyramid-private.h"
#include "imp-recording-private.h"

/* How the pyramid is kept (the file layout is in docs/project-file.md).
 *
 * Level k has bins of 64 * 4^k samples; levels are added until one has at
 * most MAX_TOP_BINS bins. Each level is three datasets (min, max, mean)
 * of [bins, channels], chunked [chunk_bins, 64 channels], holding int16
 * codes of the channel's gain and offset when every sample is one (native
 * files always are), float32 otherwise. A bin whose samples are all NaN
 * is NaN in float32 and min = 32767 > max = -32768 in int16: a pair no
 * real bin has.
 *
 * A build reads the recording once, in rows of BLOCK_SAMPLES samples (the
 * native format's chunk rows), all channels of a row before the next, and
 * folds each level-0 bin into the bins above it as it completes. Coarse
 * levels that fit RESIDENT_BYTES are kept whole in memory, now and when
 * loaded again; the others are staged a chunk row at a time and written
 * when the row is full, so memory stays bounded whatever the length.
 *
 * Queries read, for each bin, whichever of these holds it: a resident
 * level, a chunk of the file (through an LRU cache of chunks, kept
 * channel-major so a channel's bins are contiguous), the staged rows of a
 * running build, or the bin in progress (its samples up to the built
 * limit). All of this is under self->lock, which the builder takes only
 * to publish a finished row; HDF5 calls also take the HDF5 lock, always
 * after self->lock. */

#define MAX_TOP_BINS     2048
#define BLOCK_SAMPLES    8192
#define CHUNK_CHANNELS   64
/* Most bytes of samples one read of the recording returns. */
#define READ_BYTES       (32 * 1024 * 1024)
#define MAX_CHUNK_BINS   1024
#define MIN_CHUNK_BINS   128
#define STAGING_BYTES    (96 * 1024 * 1024)
#define RESIDENT_BYTES   (32 * 1024 * 1024)
#define CACHE_BYTES      (64 * 1024 * 1024)
#define PYRAMID_VERSION  1
#define NAN_MIN_CODE     G_MAXINT16
#define NAN_MAX_CODE     G_MININT16
#define STAGE            "Building the overview"

typedef enum
{
  ENCODING_INT16,
  ENCODING_FLOAT32,
} Encoding;

enum
{
  STAT_MIN,
  STAT_MAX,
  STAT_MEAN,
  N_STATS
};

static const char * const stat_names[N_STATS] = { "min", "max", "mean" };

/* Statistics of some samples: codes in int16 mode, physical values in
 * float32 mode. NaN samples are not counted. */
typedef struct
{
  float   min;
  float   max;
  double  sum;
  gint64  count;
} Acc;

typedef struct
{
  gint64    bin;                /* samples per bin */
  gint64    n_bins;
  gint64    chunk_bins;         /* bins per chunk row */
  gint64    stage_bins;         /* bins the staged rows can hold */
  gboolean  resident;
  /* Resident: the whole level, [channel][n_bins]. Otherwise, during and
   * after a build, the rows not yet in the file: [channel][stage_bins],
   * bin b at b - flushed. */
  gpointer  data[N_STATS];
  gpointer  partial[N_STATS];   /* [channel]: the bin in progress */
  gboolean  has_partial;
  gint64    complete;           /* bins [0, complete) are readable */
  gint64    flushed;            /* bins [0, flushed) are in the file */
  hid_t     dset[N_STATS];
} Level;

typedef struct
{
  guint64   key;
  GList     link;
  gint64    first;              /* first bin held */
  gint64    n;                  /* bins held */
  guint     first_channel;
  gpointer  data[N_STATS];      /* [channel - first_channel][n] */
  gsize     bytes;
  gboolean  bad;                /* unreadable: not tried again */
} Chunk;

/* Bins [first, end) of one channel: bin b is data[i][b - first]. */
typedef struct
{
  gint64        first;
  gint64        end;
  const void   *data[N_STATS];
} Run;

struct _ImpPyramid
{
  gatomicrefcount    ref_count;
  GMutex             lock;
  GMutex             build_lock;
  ImpRecording      *recording;
  char              *path;
  guint              n_channels;
  guint              chunk_channels;
  gint64             n_samples;
  guint              n_levels;
  Encoding           encoding;
  gsize              value_size;
  double            *gain;
  double            *offset;
  Level             *levels;
  gint64             built;
  gboolean           complete;
  gint64             samples_read;
  ImpProject        *project;
  ImpProjectWriter  *writer;
  hid_t              memory_file;
  GHashTable        *cache;
  GQueue             lru;
  gsize              cache_bytes;
  gboolean           warned;
};

/* Memory limits (imp-pyramid-private.h), read when a pyramid plans its
 * levels and when it caches a chunk. */
static gsize limit_resident = RESIDENT_BYTES;
static gsize limit_staging = STAGING_BYTES;
static gsize limit_cache = CACHE_BYTES;

/**
 * _imp_pyramid_set_limits:
 * @resident_bytes: coarse levels kept whole in memory, at most
 * @staging_bytes: rows a build holds before writing them, at most (the
 *   chunk rows shrink to fit, down to 128 bins)
 * @cache_bytes: chunks read from the file kept in memory, at most
 *
 * Sets the memory limits of pyramids opened or built from now on; for
 * tests and benchmarks, which need the file and cache paths with small
 * recordings.
 */
void
_imp_pyramid_set_limits (gsize resident_bytes,
                         gsize staging_bytes,
                         gsize cache_bytes)
{
  limit_resident = resident_bytes;
  limit_staging = staging_bytes;
  limit_cache = cache_bytes;
}

/**
 * _imp_pyramid_reset_limits:
 *
 * Restores the default memory limits.
 */
void
_imp_pyramid_reset_limits (void)
{
  _imp_pyramid_set_limits (RESIDENT_BYTES, STAGING_BYTES, CACHE_BYTES);
}

/* Layout */

/**
 * imp_pyramid_bin_samples:
 * @level: a level
 *
 * Returns: the samples in one bin of @level: IMP_PYRAMID_BASE *
 *   IMP_PYRAMID_RATIO^@level
 */
gint64
imp_pyramid_bin_samples (guint level)
{
  g_return_val_if_fail (level < 24, 0);

  return (gint64) IMP_PYRAMID_BASE << (2 * level);
}

static gint64
n_bins_of (gint64 n_samples,
           guint  level)
{
  gint64 bin = imp_pyramid_bin_samples (level);

  return (n_samples + bin - 1) / bin;
}

static guint
count_levels (gint64 n_samples)
{
  guint n = 1;

  while (n_bins_of (n_samples, n - 1) > MAX_TOP_BINS)
    n++;
  return n;
}

/* Bins per chunk row of a level, at most @longest: rows of equal length
 * as far as possible, so the last is not mostly empty. */
static gint64
chunk_bins_of (const Level *lv,
               gint64       longest)
{
  gint64 rows = (lv->n_bins + longest - 1) / longest;

  return (lv->n_bins + rows - 1) / rows;
}

/* A build adds a block's worth of bins to a level at a time, and writes
 * a chunk row once it has one: the staged rows hold a chunk row and what
 * one block adds beyond it. */
static gint64
stage_bins_of (const Level *lv,
               gint64       chunk_bins)
{
  return MIN (lv->n_bins, chunk_bins + MAX (1, BLOCK_SAMPLES / lv->bin));
}

/* Which levels stay in memory and how many bins a chunk row holds, for
 * the current encoding: coarse levels up to the resident limit, and
 * chunk rows as long as the staged rows of a build fit the staging
 * limit. */
static void
plan_levels (ImpPyramid *self)
{
  gsize per_bin = (gsize) self->n_channels * N_STATS * self->value_size;
  gsize resident = 0;
  gint64 chunk = MAX_CHUNK_BINS;
  gboolean finer = TRUE;

  for (guint k = self->n_levels; k-- > 0;)
    {
      Level *lv = &self->levels[k];
      gsize bytes = (gsize) lv->n_bins * per_bin;

      lv->resident = finer && resident + bytes <= limit_resident;
      finer = lv->resident;
      if (lv->resident)
        resident += bytes;
    }
  for (;;)
    {
      gsize staged = 0;

      for (guint k = 0; k < self->n_levels; k++)
        {
          Level *lv = &self->levels[k];

          if (!lv->resident)
            staged += stage_bins_of (lv, chunk_bins_of (lv, chunk)) * per_bin;
        }
      if (staged <= limit_staging || chunk <= MIN_CHUNK_BINS)
        break;
      chunk /= 2;
    }
  for (guint k = 0; k < self->n_levels; k++)
    {
      Level *lv = &self->levels[k];

      lv->chunk_bins = chunk_bins_of (lv, chunk);
      lv->stage_bins = stage_bins_of (lv, lv->chunk_bins);
    }
}

static void
set_encoding (ImpPyramid *self,
              Encoding    encoding)
{
  self->encoding = encoding;
  self->value_size = encoding == ENCODING_INT16 ? sizeof (gint16)
                                                : sizeof (float);
  plan_levels (self);
}

/* int16 codes are tried when every channel's values come from integers
 * of at most 16 bits; the build still checks every sample. */
static Encoding
likely_encoding (ImpRecording *rec)
{
  for (guint c = 0; c < rec->channels->len; c++)
    {
      double raw_max = g_array_index (rec->raw_max, double, c);

      if (!(raw_max > 0.0 && raw_max <= 32768.0))
        return ENCODING_FLOAT32;
    }
  return ENCODING_INT16;
}

static hid_t
mem_type (const ImpPyramid *self)
{
  return self->encoding == ENCODING_INT16 ? H5T_NATIVE_INT16
                                          : H5T_NATIVE_FLOAT;
}

/* Statistics */

static inline void
acc_clear (Acc *a)
{
  a->min = INFINITY;
  a->max = -INFINITY;
  a->sum = 0.0;
  a->count = 0;
}

static inline void
acc_merge (Acc       *a,
           const Acc *b)
{
  if (b->count == 0)
    return;
  a->min = MIN (a->min, b->min);
  a->max = MAX (a->max, b->max);
  a->sum += b->sum;
  a->count += b->count;
}

static void
acc_scan (const float *x,
          gint64       n,
          Acc         *a)
{
  float lo = INFINITY;
  float hi = -INFINITY;
  double sum = 0.0;
  gint64 count = 0;

  for (gint64 i = 0; i < n; i++)
    {
      float v = x[i];

      if (isnan (v))
        continue;
      lo = v < lo ? v : lo;
      hi = v > hi ? v : hi;
      sum += v;
      count++;
    }
  a->min = lo;
  a->max = hi;
  a->sum = sum;
  a->count = count;
}

/* Stores @a as element @index of the three arrays @data. */
static void
acc_store (const ImpPyramid *self,
           const Acc        *a,
           gpointer         *data,
           gsize             index)
{
  if (self->encoding == ENCODING_INT16)
    {
      gint16 lo = NAN_MIN_CODE, hi = NAN_MAX_CODE, mean = 0;

      if (a->count > 0)
        {
          lo = (gint16) a->min;
          hi = (gint16) a->max;
          mean = (gint16) CLAMP (nearbyint (a->sum / a->count),
                                 G_MININT16, G_MAXINT16);
        }
      ((gint16 *) data[STAT_MIN])[index] = lo;
      ((gint16 *) data[STAT_MAX])[index] = hi;
      ((gint16 *) data[STAT_MEAN])[index] = mean;
    }
  else
    {
      gboolean any = a->count > 0;

      ((float *) data[STAT_MIN])[index] = any ? a->min : NAN;
      ((float *) data[STAT_MAX])[index] = any ? a->max : NAN;
      ((float *) data[STAT_MEAN])[index] = any ? (float) (a->sum / a->count)
                                               : NAN;
    }
}

/* The statistics of @n <= IMP_PYRAMID_BASE samples as codes of the
 * channel's scale. FALSE if one is not exactly a code, read back the way
 * the readers read one. */
static gboolean
scan_codes (const float *x,
            gint64       n,
            double       gain,
            double       offset,
            Acc         *a)
{
  /* Adding and taking away 1.5 * 2^52 rounds to an integer (any rounding
   * does: the result is checked), without a call per sample. */
  const double round = 6755399441055744.0;
  double inverse = 1.0 / gain;
  int codes[IMP_PYRAMID_BASE];
  int bad = 0;
  int nan = 0;
  int lo = G_MAXINT16, hi = G_MININT16;
  gint64 sum = 0;

  g_assert (n <= IMP_PYRAMID_BASE);

  /* No branches, so that the compiler can do several at once. */
  for (gint64 i = 0; i < n; i++)
    {
      float v = x[i];
      double y = ((v - offset) * inverse + round) - round;
      int code;

      y = y < -32769.0 ? -32769.0 : y;
      y = y > 32768.0 ? 32768.0 : y;
      code = (int) y;
      nan += v != v;
      bad += (v == v) & ((code < G_MININT16) | (code > G_MAXINT16)
                         | ((float) (code * gain + offset) != v));
      codes[i] = code;
    }
  if (bad > 0)
    return FALSE;

  if (nan == 0)
    for (gint64 i = 0; i < n; i++)
      {
        lo = MIN (lo, codes[i]);
        hi = MAX (hi, codes[i]);
        sum += codes[i];
      }
  else
    for (gint64 i = 0; i < n; i++)
      if (!isnan (x[i]))
        {
          lo = MIN (lo, codes[i]);
          hi = MAX (hi, codes[i]);
          sum += codes[i];
        }
  a->min = lo;
  a->max = hi;
  a->sum = (double) sum;
  a->count = n - nan;
  if (a->count == 0)
    acc_clear (a);
  return TRUE;
}

/* Memory */

static void
free_stats (gpointer *data)
{
  for (guint i = 0; i < N_STATS; i++)
    g_clear_pointer (&data[i], g_free);
}

static void
alloc_stats (gpointer *data,
             gsize     n,
             gsize     size)
{
  for (guint i = 0; i < N_STATS; i++)
    data[i] = g_malloc (n * size);
}

static void
chunk_free (gpointer data)
{
  Chunk *chunk = data;

  free_stats (chunk->data);
  g_free (chunk);
}

static void
cache_clear (ImpPyramid *self)
{
  /* The links live in the chunks, which the table frees. */
  g_hash_table_remove_all (self->cache);
  g_queue_init (&self->lru);
  self->cache_bytes = 0;
}

static void
close_datasets (ImpPyramid *self)
{
  for (guint k = 0; k < self->n_levels; k++)
    for (guint i = 0; i < N_STATS; i++)
      {
        _imp_h5_id_close (self->levels[k].dset[i]);
        self->levels[k].dset[i] = H5I_INVALID_HID;
      }
}

/* Forgets everything built or loaded; called with self->lock held. */
static void
clear_levels (ImpPyramid *self)
{
  close_datasets (self);
  for (guint k = 0; k < self->n_levels; k++)
    {
      Level *lv = &self->levels[k];

      free_stats (lv->data);
      free_stats (lv->partial);
      lv->has_partial = FALSE;
      lv->complete = 0;
      lv->flushed = 0;
    }
  cache_clear (self);
  g_clear_pointer (&self->project, imp_project_close);
  g_clear_pointer (&self->writer, imp_project_writer_free);
  _imp_h5_id_close (self->memory_file);
  self->memory_file = H5I_INVALID_HID;
  self->built = 0;
  self->complete = FALSE;
}

/* Reading and writing the datasets */

static void
gather (const ImpPyramid *self,
        const void       *src,
        gint64            stride,
        gint64            from,
        guint             first_channel,
        guint             n_channels,
        gint64            n,
        void             *dst)
{
  for (guint c = 0; c < n_channels; c++)
    {
      gsize row = (gsize) (first_channel + c) * stride + from;

      if (self->encoding == ENCODING_INT16)
        {
          const gint16 *in = (const gint16 *) src + row;
          gint16 *out = (gint16 *) dst + c;

          for (gint64 b = 0; b < n; b++)
            out[b * n_channels] = in[b];
        }
      else
        {
          const float *in = (const float *) src + row;
          float *out = (float *) dst + c;

          for (gint64 b = 0; b < n; b++)
            out[b * n_channels] = in[b];
        }
    }
}

static void
scatter (const ImpPyramid *self,
         const void       *src,
         guint             n_channels,
         gint64            n,
         void             *dst,
         gint64            stride,
         gint64            to)
{
  for (guint c = 0; c < n_channels; c++)
    {
      gsize row = (gsize) c * stride + to;

      if (self->encoding == ENCODING_INT16)
        {
          const gint16 *in = (const gint16 *) src + c;
          gint16 *out = (gint16 *) dst + row;

          for (gint64 b = 0; b < n; b++)
            out[b] = in[b * n_channels];
        }
      else
        {
          const float *in = (const float *) src + c;
          float *out = (float *) dst + row;

          for (gint64 b = 0; b < n; b++)
            out[b] = in[b * n_channels];
        }
    }
}

static void
set_h5_error (GError     **error,
              const char  *what)
{
  g_autofree char *msg = _imp_h5_error_text ();

  g_set_error (error, IMP_RECORDING_ERROR, IMP_RECORDING_ERROR_IO,
               "%s: %s", what, msg);
}

/* Selects bins [first, first + n) of channels [c0, c0 + nc) and a memory
 * block of that shape; TRUE if HDF5 took both. */
static hid_t
select_block (hid_t    dset,
              gint64   first,
              gint64   n,
              guint    c0,
              guint    nc,
              hid_t   *mspace)
{
  hid_t fspace = H5Dget_space (dset);
  hsize_t start[2] = { first, c0 };
  hsize_t count[2] = { n, nc };

  H5Sselect_hyperslab (fspace, H5S_SELECT_SET, start, NULL, count, NULL);
  *mspace = H5Screate_simple (2, count, NULL);
  return fspace;
}

/* Writes bins [first, first + n) of every channel of level @k from
 * arrays laid out [channel][stride], bin first at column @from. Takes the
 * HDF5 lock one chunk at a time, so readers wait at most one chunk. */
static gboolean
write_bins (ImpPyramid      *self,
            guint            k,
            gpointer        *data,
            gint64           stride,
            gint64           from,
            gint64           first,
            gint64           n,
            GError         **error)
{
  Level *lv = &self->levels[k];
  g_autofree void *tmp = NULL;

  tmp = g_malloc ((gsize) n * self->chunk_channels * self->value_size);
  for (guint c0 = 0; c0 < self->n_channels; c0 += self->chunk_channels)
    {
      guint nc = MIN (self->chunk_channels, self->n_channels - c0);

      for (guint i = 0; i < N_STATS; i++)
        {
          g_auto(ImpH5Id) fspace = H5I_INVALID_HID;
          g_auto(ImpH5Id) mspace = H5I_INVALID_HID;
          herr_t status;

          gather (self, data[i], stride, from, c0, nc, n, tmp);
          _imp_h5_lock ();
          fspace = select_block (lv->dset[i], first, n, c0, nc, &mspace);
          status = H5Dwrite (lv->dset[i], mem_type (self), mspace, fspace,
                             H5P_DEFAULT, tmp);
          if (status < 0)
            set_h5_error (error, "Cannot write the overview");
          _imp_h5_unlock ();
          if (status < 0)
            return FALSE;
        }
    }
  return TRUE;
}

/* Reads bins [first, first + n) of channels [c0, c0 + nc) of level @k
 * into arrays laid out [channel - c0][stride], bin first at column @to. */
static gboolean
read_bins (ImpPyramid  *self,
           guint        k,
           gint64       first,
           gint64       n,
           guint        c0,
           guint        nc,
           gpointer    *data,
           gint64       stride,
           gint64       to)
{
  Level *lv = &self->levels[k];
  g_autofree void *tmp = g_malloc ((gsize) n * nc * self->value_size);

  for (guint i = 0; i < N_STATS; i++)
    {
      g_auto(ImpH5Id) fspace = H5I_INVALID_HID;
      g_auto(ImpH5Id) mspace = H5I_INVALID_HID;
      herr_t status;

      _imp_h5_lock ();
      fspace = select_block (lv->dset[i], first, n, c0, nc, &mspace);
      status = H5Dread (lv->dset[i], mem_type (self), mspace, fspace,
                        H5P_DEFAULT, tmp);
      if (status < 0 && !self->warned)
        {
          g_autofree char *msg = _imp_h5_error_text ();

          /* Its columns are left NaN; one warning is enough. */
          g_warning ("Failed to read level %u of the overview in %s: %s",
                     k, self->path, msg);
          self->warned = TRUE;
        }
      _imp_h5_unlock ();
      if (status < 0)
        return FALSE;
      scatter (self, tmp, nc, n, data[i], stride, to);
    }
  return TRUE;
}

static gboolean
put_attr_int (hid_t        obj,
              const char  *name,
              gint64       value)
{
  g_auto(ImpH5Id) space = H5Screate (H5S_SCALAR);
  g_auto(ImpH5Id) attr = H5I_INVALID_HID;

  attr = H5Acreate2 (obj, name, H5T_STD_I64LE, space, H5P_DEFAULT,
                     H5P_DEFAULT);
  return attr >= 0 && H5Awrite (attr, H5T_NATIVE_INT64, &value) >= 0;
}

static gboolean
put_attr_text (hid_t        obj,
               const char  *name,
               const char  *value)
{
  g_auto(ImpH5Id) type = H5Tcopy (H5T_C_S1);
  g_auto(ImpH5Id) space = H5Screate (H5S_SCALAR);
  g_auto(ImpH5Id) attr = H5I_INVALID_HID;

  H5Tset_size (type, H5T_VARIABLE);
  H5Tset_cset (type, H5T_CSET_UTF8);
  attr = H5Acreate2 (obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
  return attr >= 0 && H5Awrite (attr, type, &value) >= 0;
}

static gboolean
put_doubles (hid_t          loc,
             const char    *name,
             const double  *values,
             hsize_t        n)
{
  g_auto(ImpH5Id) space = H5Screate_simple (1, &n, NULL);
  g_auto(ImpH5Id) dset = H5I_INVALID_HID;

  dset = H5Dcreate2 (loc, name, H5T_IEEE_F64LE, space, H5P_DEFAULT,
                     H5P_DEFAULT, H5P_DEFAULT);
  return dset >= 0 && H5Dwrite (dset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL,
                                H5P_DEFAULT, values) >= 0;
}

static hid_t
dataset_access (void)
{
  hid_t dapl = H5Pcreate (H5P_DATASET_ACCESS);

  /* Whole chunks are read into our own cache, and written whole. */
  H5Pset_chunk_cache (dapl, 0, 0, 1.0);
  return dapl;
}

static gboolean
create_level (ImpPyramid *self,
              hid_t       pyramid,
              guint       k)
{
  Level *lv = &self->levels[k];
  g_autofree char *name = g_strdup_printf ("level%u", k);
  g_auto(ImpH5Id) group = H5I_INVALID_HID;
  g_auto(ImpH5Id) dcpl = H5Pcreate (H5P_DATASET_CREATE);
  g_auto(ImpH5Id) dapl = dataset_access ();
  g_auto(ImpH5Id) space = H5I_INVALID_HID;
  hsize_t dims[2] = { lv->n_bins, self->n_channels };
  hsize_t chunk[2] = { lv->chunk_bins, self->chunk_channels };
  hid_t type = self->encoding == ENCODING_INT16 ? H5T_STD_I16LE
                                                : H5T_IEEE_F32LE;

  group = H5Gcreate2 (pyramid, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  if (group < 0 || !put_attr_int (group, "bin_samples", lv->bin)
      || !put_attr_int (group, "n_bins", lv->n_bins))
    return FALSE;
  H5Pset_chunk (dcpl, 2, chunk);
  /* A checksum per chunk: a damaged chunk fails to read instead of
   * showing wrong values. */
  H5Pset_fletcher32 (dcpl);
  H5Pset_fill_time (dcpl, H5D_FILL_TIME_NEVER);
  space = H5Screate_simple (2, dims, NULL);
  for (guint i = 0; i < N_STATS; i++)
    {
      lv->dset[i] = H5Dcreate2 (group, stat_names[i], type, space,
                                H5P_DEFAULT, dcpl, dapl);
      if (lv->dset[i] < 0)
        return FALSE;
    }
  return TRUE;
}

/* Makes the /pyramid group and its datasets in @file (open for writing)
 * or, with @writer, in the writer's new version. */
static gboolean
create_datasets (ImpPyramid        *self,
                 ImpProjectWriter  *writer,
                 hid_t              file,
                 GError           **error)
{
  g_auto(ImpH5Id) pyramid = H5I_INVALID_HID;
  gboolean ok;

  if (writer != NULL)
    {
      pyramid = imp_project_writer_add_group (writer, "pyramid", error);
      if (pyramid < 0)
        return FALSE;
    }

  _imp_h5_lock ();
  if (writer == NULL)
    pyramid = H5Gcreate2 (file, "pyramid", H5P_DEFAULT, H5P_DEFAULT,
                          H5P_DEFAULT);
  ok = pyramid >= 0
       && put_attr_int (pyramid, "pyramid_version", PYRAMID_VERSION)
       && put_attr_int (pyramid, "base_samples", IMP_PYRAMID_BASE)
       && put_attr_int (pyramid, "ratio", IMP_PYRAMID_RATIO)
       && put_attr_int (pyramid, "n_levels", self->n_levels)
       && put_attr_int (pyramid, "n_channels", self->n_channels)
       && put_attr_int (pyramid, "n_samples", self->n_samples)
       && put_attr_text (pyramid, "encoding",
                         self->encoding == ENCODING_INT16 ? "int16"
                                                          : "float32")
       && put_doubles (pyramid, "gain", self->gain, self->n_channels)
       && put_doubles (pyramid, "offset", self->offset, self->n_channels);
  for (guint k = 0; ok && k < self->n_levels; k++)
    ok = create_level (self, pyramid, k);
  if (!ok)
    set_h5_error (error, "Cannot make the overview in the project file");
  _imp_h5_unlock ();

  return ok;
}

static gint64
attr_int (hid_t        obj,
          const char  *name)
{
  double value;

  if (!_imp_h5_attr_double (obj, name, &value))
    return -1;
  return (gint64) value;
}

static gboolean
same_doubles (hid_t          pyramid,
              const char    *name,
              const double  *values,
              guint          n)
{
  g_auto(ImpH5Id) dset = H5I_INVALID_HID;
  g_autofree double *stored = g_new (double, n);
  gint64 len;

  if (H5Lexists (pyramid, name, H5P_DEFAULT) <= 0)
    return FALSE;
  dset = H5Dopen2 (pyramid, name, H5P_DEFAULT);
  len = _imp_h5_dataset_length (dset, name, NULL);
  if (len != n || H5Dread (dset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL,
                           H5P_DEFAULT, stored) < 0)
    return FALSE;
  return memcmp (stored, values, n * sizeof (double)) == 0;
}

/* Opens level @k's datasets in @pyramid, checking their shape and type
 * against what this recording's pyramid must be. Their chunk rows may be
 * of any length (the memory limits that chose it may have been others):
 * reads follow them. */
static gboolean
open_level (ImpPyramid *self,
            hid_t       pyramid,
            guint       k)
{
  Level *lv = &self->levels[k];
  g_autofree char *name = g_strdup_printf ("level%u", k);
  g_auto(ImpH5Id) group = H5I_INVALID_HID;
  g_auto(ImpH5Id) dapl = dataset_access ();

  if (H5Lexists (pyramid, name, H5P_DEFAULT) <= 0)
    return FALSE;
  group = H5Gopen2 (pyramid, name, H5P_DEFAULT);
  for (guint i = 0; i < N_STATS; i++)
    {
      g_auto(ImpH5Id) type = H5I_INVALID_HID;
      g_auto(ImpH5Id) space = H5I_INVALID_HID;
      g_auto(ImpH5Id) dcpl = H5I_INVALID_HID;
      hsize_t dims[2] = { 0, 0 };
      hsize_t chunk[2] = { 0, 0 };

      if (H5Lexists (group, stat_names[i], H5P_DEFAULT) <= 0)
        return FALSE;
      lv->dset[i] = H5Dopen2 (group, stat_names[i], dapl);
      type = H5Dget_type (lv->dset[i]);
      space = H5Dget_space (lv->dset[i]);
      dcpl = H5Dget_create_plist (lv->dset[i]);
      if (lv->dset[i] < 0
          || H5Tget_class (type) != (self->encoding == ENCODING_INT16
                                     ? H5T_INTEGER : H5T_FLOAT)
          || H5Tget_size (type) != self->value_size
          || H5Sget_simple_extent_ndims (space) != 2
          || H5Sget_simple_extent_dims (space, dims, NULL) != 2
          || dims[0] != (hsize_t) lv->n_bins
          || dims[1] != self->n_channels
          || H5Pget_chunk (dcpl, 2, chunk) != 2
          || chunk[0] < 1 || chunk[0] > (hsize_t) lv->n_bins
          || (i > 0 && chunk[0] != (hsize_t) lv->chunk_bins)
          || chunk[1] != self->chunk_channels)
        return FALSE;
      lv->chunk_bins = chunk[0];
    }
  return TRUE;
}

static gboolean
open_datasets (ImpPyramid *self,
               hid_t       file)
{
  g_auto(ImpH5Id) pyramid = H5I_INVALID_HID;
  gboolean ok = TRUE;

  _imp_h5_lock ();
  pyramid = H5Gopen2 (file, "pyramid", H5P_DEFAULT);
  for (guint k = 0; ok && k < self->n_levels; k++)
    ok = open_level (self, pyramid, k);
  _imp_h5_unlock ();

  return ok;
}

/* Whether @file holds a finished pyramid of this recording in a layout
 * this program makes; sets the encoding it uses. */
static gboolean
check_saved (ImpPyramid  *self,
             hid_t        file,
             const char **why)
{
  g_auto(ImpH5Id) pyramid = H5I_INVALID_HID;
  g_autofree char *encoding = NULL;
  gboolean ok;

  _imp_h5_lock ();
  if (H5Lexists (file, "pyramid", H5P_DEFAULT) <= 0)
    {
      _imp_h5_unlock ();
      *why = "it has no overview";
      return FALSE;
    }
  pyramid = H5Gopen2 (file, "pyramid", H5P_DEFAULT);
  encoding = _imp_h5_attr_string (pyramid, "encoding");
  ok = attr_int (pyramid, "pyramid_version") == PYRAMID_VERSION
       && attr_int (pyramid, "base_samples") == IMP_PYRAMID_BASE
       && attr_int (pyramid, "ratio") == IMP_PYRAMID_RATIO
       && attr_int (pyramid, "n_levels") == self->n_levels
       && attr_int (pyramid, "n_channels") == self->n_channels
       && attr_int (pyramid, "n_samples") == self->n_samples
       && attr_int (pyramid, "complete") == 1
       && (g_strcmp0 (encoding, "int16") == 0
           || g_strcmp0 (encoding, "float32") == 0);
  if (!ok)
    *why = "its overview is of another version or unfinished";
  else if (!same_doubles (pyramid, "gain", self->gain, self->n_channels)
           || !same_doubles (pyramid, "offset", self->offset,
                             self->n_channels))
    {
      *why = "its overview was made with other channel scales";
      ok = FALSE;
    }
  _imp_h5_unlock ();
  if (ok)
    set_encoding (self, g_str_equal (encoding, "int16")
                        ? ENCODING_INT16 : ENCODING_FLOAT32);

  return ok;
}

static gboolean
load_resident (ImpPyramid *self)
{
  for (guint k = 0; k < self->n_levels; k++)
    {
      Level *lv = &self->levels[k];

      if (!lv->resident)
        continue;
      alloc_stats (lv->data, (gsize) self->n_channels * lv->n_bins,
                   self->value_size);
      for (gint64 b = 0; b < lv->n_bins; b += lv->chunk_bins)
        for (guint c0 = 0; c0 < self->n_channels; c0 += self->chunk_channels)
          {
            guint nc = MIN (self->chunk_channels, self->n_channels - c0);
            gint64 n = MIN (lv->chunk_bins, lv->n_bins - b);
            gpointer at[N_STATS];

            for (guint i = 0; i < N_STATS; i++)
              at[i] = (char *) lv->data[i]
                      + (gsize) c0 * lv->n_bins * self->value_size;
            if (!read_bins (self, k, b, n, c0, nc, at, lv->n_bins, b))
              return FALSE;
          }
    }
  return TRUE;
}

/* Takes the pyramid saved in the project file, if there is a good one. */
static void
load (ImpPyramid *self)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ImpProject) project = NULL;
  const char *why = NULL;

  project = imp_project_open (self->path, self->recording, &error);
  if (project == NULL)
    {
      g_debug ("Building the overview of %s anew: %s",
               self->recording->path, error->message);
      return;
    }
  if (!check_saved (self, imp_project_get_file (project), &why))
    {
      g_debug ("Building the overview of %s anew: %s",
               self->recording->path, why);
      return;
    }

  g_mutex_lock (&self->lock);
  if (open_datasets (self, imp_project_get_file (project))
      && load_resident (self))
    {
      for (guint k = 0; k < self->n_levels; k++)
        {
          self->levels[k].complete = self->levels[k].n_bins;
          self->levels[k].flushed = self->levels[k].n_bins;
        }
      self->project = g_steal_pointer (&project);
      self->built = self->n_samples;
      self->complete = TRUE;
      g_debug ("Loaded the overview of %s from %s", self->recording->path,
               self->path);
    }
  else
    {
      g_debug ("Building the overview of %s anew: its overview in %s is "
               "damaged", self->recording->path, self->path);
      clear_levels (self);
    }
  g_mutex_unlock (&self->lock);
}

/* Building */

typedef struct
{
  Acc      *acc;           /* [level][channel]; level 0 unused */
  Acc      *running;       /* [channel], scratch for partial bins */
  float    *samples;
  guint     group_channels;
  gboolean  not_codes;
  GError   *save_error;    /* why the project file is not written */
} Build;

static void
build_clear (Build *b)
{
  g_clear_pointer (&b->acc, g_free);
  g_clear_pointer (&b->running, g_free);
  g_clear_pointer (&b->samples, g_free);
  g_clear_error (&b->save_error);
}

/* Where a build writes: a new version of the project file or, if that
 * cannot be made, an HDF5 file in memory. */
static gboolean
open_output (ImpPyramid  *self,
             Build       *b,
             GError     **error)
{
  g_autoptr(ImpProjectWriter) writer = NULL;
  g_auto(ImpH5Id) fapl = H5I_INVALID_HID;
  g_autofree char *name = NULL;
  hid_t file;

  writer = imp_project_writer_new (self->path, self->recording,
                                   &b->save_error);
  if (writer != NULL && create_datasets (self, writer, H5I_INVALID_HID,
                                         &b->save_error))
    {
      self->writer = g_steal_pointer (&writer);
      return TRUE;
    }
  g_clear_pointer (&writer, imp_project_writer_free);
  close_datasets (self);
  g_debug ("Keeping the overview of %s in memory: %s",
           self->recording->path, b->save_error->message);

  name = g_strdup_printf ("imprint-pyramid-%p", (void *) self);
  _imp_h5_lock ();
  fapl = H5Pcreate (H5P_FILE_ACCESS);
  H5Pset_fapl_core (fapl, 4 * 1024 * 1024, FALSE);
  file = H5Fcreate (name, H5F_ACC_EXCL, H5P_DEFAULT, fapl);
  _imp_h5_unlock ();
  if (file < 0)
    {
      set_h5_error (error, "Cannot make the overview in memory");
      return FALSE;
    }
  self->memory_file = file;
  return create_datasets (self, NULL, file, error);
}

/* Forgets what there was and sets up an empty pyramid to build in
 * @encoding. */
static gboolean
start_build (ImpPyramid  *self,
             Encoding     encoding,
             Build       *b,
             GError     **error)
{
  gsize n_ch = self->n_channels;
  gboolean ok;

  g_mutex_lock (&self->lock);
  clear_levels (self);
  set_encoding (self, encoding);
  for (guint k = 0; k < self->n_levels; k++)
    {
      Level *lv = &self->levels[k];

      alloc_stats (lv->data, n_ch * (lv->resident ? lv->n_bins
                                                  : lv->stage_bins),
                   self->value_size);
      alloc_stats (lv->partial, n_ch, self->value_size);
    }
  ok = open_output (self, b, error);
  g_mutex_unlock (&self->lock);
  if (!ok)
    return FALSE;

  b->acc = g_new (Acc, (gsize) self->n_levels * n_ch);
  for (gsize i = 0; i < (gsize) self->n_levels * n_ch; i++)
    acc_clear (&b->acc[i]);
  b->running = g_new (Acc, n_ch);
  /* All channels at once, or whole chunk columns of them. */
  b->group_channels = READ_BYTES / (BLOCK_SAMPLES * sizeof (float));
  b->group_channels -= b->group_channels % CHUNK_CHANNELS;
  b->group_channels = MIN (self->n_channels, b->group_channels);
  b->samples = g_new (float, (gsize) b->group_channels * BLOCK_SAMPLES);
  return TRUE;
}

static void
store_bin (ImpPyramid *self,
           guint       k,
           guint       c,
           gint64      bin,
           const Acc  *a)
{
  Level *lv = &self->levels[k];
  gsize index;

  if (lv->resident)
    index = (gsize) c * lv->n_bins + bin;
  else
    {
      g_assert (bin - lv->flushed < lv->stage_bins);
      index = (gsize) c * lv->stage_bins + (bin - lv->flushed);
    }
  acc_store (self, a, lv->data, index);
}

/* Level-0 bin @bin of channel @c is @a: stores it, and every bin above it
 * that it completes. */
static void
add_bin (ImpPyramid *self,
         Build      *b,
         guint       c,
         gint64      bin,
         Acc         a)
{
  gint64 end = MIN ((bin + 1) * IMP_PYRAMID_BASE, self->n_samples);

  store_bin (self, 0, c, bin, &a);
  for (guint k = 1; k < self->n_levels; k++)
    {
      Acc *up = &b->acc[(gsize) k * self->n_channels + c];
      gint64 size = self->levels[k].bin;
      gint64 up_bin = (end - 1) / size;

      acc_merge (up, &a);
      if (end != MIN ((up_bin + 1) * size, self->n_samples))
        break;
      store_bin (self, k, c, up_bin, up);
      a = *up;
      acc_clear (up);
    }
}

static gboolean
add_samples (ImpPyramid *self,
             Build      *b,
             guint       c,
             float      *x,
             gint64      first,
             gint64      n)
{
  /* Blocks start on a multiple of the largest level-0 bin. */
  for (gint64 s = 0; s < n; s += IMP_PYRAMID_BASE)
    {
      gint64 len = MIN (IMP_PYRAMID_BASE, n - s);
      Acc a;

      if (self->encoding == ENCODING_FLOAT32)
        acc_scan (x + s, len, &a);
      else if (!scan_codes (x + s, len, self->gain[c], self->offset[c], &a))
        return FALSE;
      add_bin (self, b, c, (first + s) / IMP_PYRAMID_BASE, a);
    }
  return TRUE;
}

/* Samples [0, @built) of every channel are in: makes them visible to
 * queries, with the bins still in progress as they stand. */
static void
publish (ImpPyramid *self,
         Build      *b,
         gint64      built)
{
  gboolean end = built >= self->n_samples;

  for (guint c = 0; c < self->n_channels; c++)
    acc_clear (&b->running[c]);

  g_mutex_lock (&self->lock);
  for (guint k = 0; k < self->n_levels; k++)
    {
      Level *lv = &self->levels[k];

      lv->complete = end ? lv->n_bins : built / lv->bin;
      lv->has_partial = !end && built % lv->bin != 0;
      if (k == 0)
        continue;
      for (guint c = 0; c < self->n_channels; c++)
        {
          acc_merge (&b->running[c], &b->acc[(gsize) k * self->n_channels + c]);
          if (lv->has_partial)
            acc_store (self, &b->running[c], lv->partial, c);
        }
    }
  self->built = built;
  g_mutex_unlock (&self->lock);
}

/* Moves what is staged beyond the @n bins just written to the start of
 * each channel's staged row. */
static void
shift_staged (ImpPyramid *self,
              Level      *lv,
              gint64      n,
              gint64      rest)
{
  gsize size = self->value_size;

  for (guint i = 0; rest > 0 && i < N_STATS; i++)
    for (guint c = 0; c < self->n_channels; c++)
      {
        char *row = (char *) lv->data[i] + (gsize) c * lv->stage_bins * size;

        memmove (row, row + n * size, rest * size);
      }
}

/* Writes the staged chunk rows of levels that have a whole one (at the
 * end, whatever they have), and makes room for the next. */
static gboolean
flush_levels (ImpPyramid  *self,
              gboolean     end,
              GError     **error)
{
  for (guint k = 0; k < self->n_levels; k++)
    {
      Level *lv = &self->levels[k];
      gint64 staged;

      while (!lv->resident
             && (staged = lv->complete - lv->flushed) > 0
             && (staged >= lv->chunk_bins || end))
        {
          gint64 n = MIN (staged, lv->chunk_bins);

          if (!write_bins (self, k, lv->data, lv->stage_bins, 0, lv->flushed,
                           n, error))
            return FALSE;
          /* Queries read staged bins where they are under the lock. */
          g_mutex_lock (&self->lock);
          shift_staged (self, lv, n, staged - n);
          lv->flushed += n;
          g_mutex_unlock (&self->lock);
        }
    }
  return TRUE;
}

static gboolean
write_resident (ImpPyramid  *self,
                GError     **error)
{
  for (guint k = 0; k < self->n_levels; k++)
    {
      Level *lv = &self->levels[k];

      if (!lv->resident)
        continue;
      for (gint64 b = 0; b < lv->n_bins; b += lv->chunk_bins)
        if (!write_bins (self, k, lv->data, lv->n_bins, b, b,
                         MIN (lv->chunk_bins, lv->n_bins - b), error))
          return FALSE;
      g_mutex_lock (&self->lock);
      lv->flushed = lv->n_bins;
      g_mutex_unlock (&self->lock);
    }
  return TRUE;
}

/* A build that stops early keeps what it made readable, and leaves no
 * file behind. */
static void
stop_build (ImpPyramid *self)
{
  g_mutex_lock (&self->lock);
  if (self->writer != NULL)
    imp_project_writer_abandon (self->writer);
  g_mutex_unlock (&self->lock);
}

static hid_t
output_file (ImpPyramid *self)
{
  return self->writer != NULL ? imp_project_writer_get_file (self->writer)
                              : self->memory_file;
}

/* Everything is in: writes the rest, marks the pyramid finished and puts
 * the new project file in place. */
static gboolean
finish_build (ImpPyramid  *self,
              Build       *b,
              GError     **error)
{
  g_autoptr(ImpProject) project = NULL;
  gboolean ok;

  if (!flush_levels (self, TRUE, error) || !write_resident (self, error))
    return FALSE;
  _imp_h5_lock ();
  {
    g_auto(ImpH5Id) pyramid = H5Gopen2 (output_file (self), "pyramid",
                                        H5P_DEFAULT);

    ok = pyramid >= 0 && put_attr_int (pyramid, "complete", 1);
    if (!ok)
      set_h5_error (error, "Cannot finish the overview");
  }
  _imp_h5_unlock ();
  if (!ok)
    return FALSE;

  if (self->writer != NULL && b->save_error == NULL
      && !imp_project_writer_flush (self->writer, &b->save_error))
    imp_project_writer_abandon (self->writer);

  g_mutex_lock (&self->lock);
  self->complete = TRUE;
  /* Every bin is in the file now: the staged rows are not needed. */
  for (guint k = 0; k < self->n_levels; k++)
    if (!self->levels[k].resident)
      free_stats (self->levels[k].data);
  if (self->writer != NULL && b->save_error == NULL)
    {
      close_datasets (self);
      if (imp_project_writer_commit (self->writer, &project, &b->save_error)
          && open_datasets (self, imp_project_get_file (project)))
        {
          self->project = g_steal_pointer (&project);
          g_clear_pointer (&self->writer, imp_project_writer_free);
        }
      else
        {
          /* The pyramid stays readable from the file written. */
          if (b->save_error == NULL)
            g_set_error_literal (&b->save_error, IMP_RECORDING_ERROR,
                                 IMP_RECORDING_ERROR_IO,
                                 "Cannot read the new project file back");
          close_datasets (self);
          g_clear_pointer (&project, imp_project_close);
          if (!open_datasets (self,
                              imp_project_writer_get_file (self->writer)))
            self->complete = FALSE;
          imp_project_writer_abandon (self->writer);
        }
    }
  g_mutex_unlock (&self->lock);

  if (b->save_error != NULL)
    {
      g_set_error (error, IMP_RECORDING_ERROR, IMP_RECORDING_ERROR_IO,
                   "The overview is not saved: %s", b->save_error->message);
      return FALSE;
    }
  return TRUE;
}

static gboolean
read_row (ImpPyramid    *self,
          Build         *b,
          gint64         row,
          gint64         n,
          GCancellable  *cancellable,
          GError       **error)
{
  for (guint c0 = 0; c0 < self->n_channels; c0 += b->group_channels)
    {
      guint nc = MIN (b->group_channels, self->n_channels - c0);

      if (g_cancellable_set_error_if_cancelled (cancellable, error)
          || !imp_recording_read (self->recording, c0, nc, row, n,
                                  b->samples, error))
        return FALSE;
      for (guint c = 0; c < nc; c++)
        if (!add_samples (self, b, c0 + c, b->samples + (gsize) c * n, row,
                          n))
          {
            b->not_codes = TRUE;
            return FALSE;
          }
    }
  g_mutex_lock (&self->lock);
  self->samples_read += n;
  g_mutex_unlock (&self->lock);
  return TRUE;
}

static gboolean
build_pass (ImpPyramid       *self,
            Encoding          encoding,
            ImpProgressFunc   progress,
            gpointer          user_data,
            GCancellable     *cancellable,
            gboolean         *not_codes,
            GError          **error)
{
  Build b = { 0 };
  gboolean ok = TRUE;

  if (!start_build (self, encoding, &b, error))
    {
      build_clear (&b);
      return FALSE;
    }
  for (gint64 row = 0; ok && row < self->n_samples; row += BLOCK_SAMPLES)
    {
      gint64 n = MIN (BLOCK_SAMPLES, self->n_samples - row);

      ok = read_row (self, &b, row, n, cancellable, error);
      if (ok)
        {
          publish (self, &b, row + n);
          ok = flush_levels (self, FALSE, error);
        }
      if (ok && progress != NULL)
        progress ((double) (row + n) / self->n_samples, STAGE, user_data);
    }
  if (ok)
    ok = finish_build (self, &b, error);
  if (!ok)
    stop_build (self);
  *not_codes = b.not_codes;
  build_clear (&b);

  return ok;
}

/* Queries */

static void
chunk_evict (ImpPyramid *self)
{
  while (self->cache_bytes > limit_cache && self->lru.length > 1)
    {
      GList *link = g_queue_pop_tail_link (&self->lru);
      Chunk *chunk = link->data;

      self->cache_bytes -= chunk->bytes;
      g_hash_table_remove (self->cache, &chunk->key);
    }
}

/* The cached chunk of level @k holding bin @bin of channel @c, read from
 * the file if need be. */
static Chunk *
chunk_get (ImpPyramid *self,
           guint       k,
           guint       c,
           gint64      bin)
{
  Level *lv = &self->levels[k];
  gint64 row = bin / lv->chunk_bins;
  guint group = c / self->chunk_channels;
  guint64 key = ((guint64) row << 24) | ((guint64) group << 5) | k;
  Chunk *chunk;

  chunk = g_hash_table_lookup (self->cache, &key);
  if (chunk != NULL)
    {
      g_queue_unlink (&self->lru, &chunk->link);
      g_queue_push_head_link (&self->lru, &chunk->link);
      return chunk;
    }

  chunk = g_new0 (Chunk, 1);
  chunk->key = key;
  chunk->link.data = chunk;
  chunk->first = row * lv->chunk_bins;
  chunk->n = MIN (lv->chunk_bins, lv->flushed - chunk->first);
  chunk->first_channel = group * self->chunk_channels;
  {
    guint nc = MIN (self->chunk_channels,
                    self->n_channels - chunk->first_channel);

    alloc_stats (chunk->data, (gsize) nc * chunk->n, self->value_size);
    chunk->bytes = (gsize) nc * chunk->n * self->value_size * N_STATS;
    if (!read_bins (self, k, chunk->first, chunk->n, chunk->first_channel,
                    nc, chunk->data, chunk->n, 0))
      {
        free_stats (chunk->data);
        chunk->bytes = sizeof (Chunk);
        chunk->bad = TRUE;
      }
  }
  g_hash_table_insert (self->cache, &chunk->key, chunk);
  g_queue_push_head_link (&self->lru, &chunk->link);
  self->cache_bytes += chunk->bytes;
  chunk_evict (self);

  return chunk;
}

static void
run_set (Run       *run,
         gpointer  *data,
         gsize      offset,
         gsize      size,
         gint64     first,
         gint64     end)
{
  for (guint i = 0; i < N_STATS; i++)
    run->data[i] = (const char *) data[i] + offset * size;
  run->first = first;
  run->end = end;
}

/* Finds where bin @bin of level @k of channel @c is; FALSE if nowhere. */
static gboolean
find_run (ImpPyramid *self,
          guint       k,
          guint       c,
          gint64      bin,
          Run        *run)
{
  Level *lv = &self->levels[k];
  gsize size = self->value_size;

  if (bin < lv->complete && lv->resident)
    run_set (run, lv->data, (gsize) c * lv->n_bins, size, 0, lv->complete);
  else if (bin < lv->flushed)
    {
      Chunk *chunk = chunk_get (self, k, c, bin);

      if (chunk->bad)
        return FALSE;
      run_set (run, chunk->data, (gsize) (c - chunk->first_channel) * chunk->n,
               size, chunk->first, chunk->first + chunk->n);
    }
  else if (bin < lv->complete)
    run_set (run, lv->data, (gsize) c * lv->stage_bins, size, lv->flushed,
             lv->complete);
  else if (bin == lv->complete && lv->has_partial)
    run_set (run, lv->partial, c, size, bin, bin + 1);
  else
    return FALSE;

  return TRUE;
}

typedef struct
{
  float   min;
  float   max;
  double  sum;     /* of bin means × their samples */
  double  weight;  /* samples of the bins that are not all NaN */
} Fold;

/* Folds @n bins of equal weight @w, from @at in @run, into @f. */
static void
fold_bins (const ImpPyramid *self,
           const Run        *run,
           gint64            at,
           gint64            n,
           double            w,
           Fold             *f)
{
  double sum = 0.0;
  gint64 count = 0;

  if (self->encoding == ENCODING_INT16)
    {
      const gint16 *lo = (const gint16 *) run->data[STAT_MIN] + at;
      const gint16 *hi = (const gint16 *) run->data[STAT_MAX] + at;
      const gint16 *mean = (const gint16 *) run->data[STAT_MEAN] + at;
      int a = G_MAXINT, b = G_MININT;
      gint64 isum = 0;

      /* All NaN is min > max, which leaves the codes alone. */
      for (gint64 i = 0; i < n; i++)
        if (lo[i] <= hi[i])
          {
            a = MIN (a, lo[i]);
            b = MAX (b, hi[i]);
            isum += mean[i];
            count++;
          }
      if (count > 0)
        {
          f->min = MIN (f->min, (float) a);
          f->max = MAX (f->max, (float) b);
        }
      sum = (double) isum;
    }
  else
    {
      const float *lo = (const float *) run->data[STAT_MIN] + at;
      const float *hi = (const float *) run->data[STAT_MAX] + at;
      const float *mean = (const float *) run->data[STAT_MEAN] + at;

      for (gint64 i = 0; i < n; i++)
        if (lo[i] <= hi[i])
          {
            f->min = MIN (f->min, lo[i]);
            f->max = MAX (f->max, hi[i]);
            sum += mean[i];
            count++;
          }
    }
  f->sum += sum * w;
  f->weight += count * w;
}

/* Folds bins [from, from + n) of @run into @f; a bin weighs its samples
 * below @limit, which only the one that holds @limit can lack. */
static void
fold_run (const ImpPyramid *self,
          const Run        *run,
          gint64            from,
          gint64            n,
          gint64            bin,
          gint64            limit,
          Fold             *f)
{
  gint64 cut = limit % bin != 0 ? limit / bin : -1;
  gint64 whole = from + n - 1 == cut ? n - 1 : n;

  fold_bins (self, run, from - run->first, whole, (double) bin, f);
  if (whole < n)
    fold_bins (self, run, cut - run->first, 1,
               (double) (limit - cut * bin), f);
}

static void
fold_output (const ImpPyramid *self,
             guint             c,
             const Fold       *f,
             float            *min,
             float            *max,
             float            *mean)
{
  double gain = self->gain[c];
  double offset = self->offset[c];

  if (f->weight <= 0.0)
    {
      *min = *max = NAN;
      if (mean != NULL)
        *mean = NAN;
      return;
    }
  if (self->encoding == ENCODING_INT16)
    {
      /* As the readers turn a code into a value. */
      float a = (float) ((gint16) f->min * gain + offset);
      float b = (float) ((gint16) f->max * gain + offset);

      *min = MIN (a, b);
      *max = MAX (a, b);
      if (mean != NULL)
        *mean = (float) (f->sum / f->weight * gain + offset);
    }
  else
    {
      *min = f->min;
      *max = f->max;
      if (mean != NULL)
        *mean = (float) (f->sum / f->weight);
    }
}

static guint
level_for (const ImpPyramid *self,
           gint64            samples_per_column)
{
  guint k = 0;

  while (k + 1 < self->n_levels
         && imp_pyramid_bin_samples (k + 1) <= samples_per_column)
    k++;
  return k;
}

/* Public API */

static void
pyramid_free (ImpPyramid *self)
{
  g_mutex_lock (&self->lock);
  clear_levels (self);
  g_mutex_unlock (&self->lock);
  g_hash_table_unref (self->cache);
  g_free (self->levels);
  g_free (self->gain);
  g_free (self->offset);
  g_free (self->path);
  imp_recording_unref (self->recording);
  g_mutex_clear (&self->lock);
  g_mutex_clear (&self->build_lock);
  g_free (self);
}

/**
 * imp_pyramid_open:
 * @recording: a recording
 * @project_path: (nullable): the project file, or %NULL for the default
 *   one (imp_project_path_for())
 * @error: return location for a #GError
 *
 * Opens the pyramid of @recording, loading it from the project file when
 * that holds a finished one made for the recording as it is now (the
 * project file is checked in a child process first). A missing, stale
 * or damaged pyramid is not an error: nothing is built yet.
 *
 * Returns: (transfer full) (nullable): the pyramid, or %NULL with @error
 *   set if the recording cannot be described
 */
ImpPyramid *
imp_pyramid_open (ImpRecording  *recording,
                  const char    *project_path,
                  GError       **error)
{
  ImpPyramid *self;
  guint n_ch;

  g_return_val_if_fail (recording != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  n_ch = imp_recording_get_n_channels (recording);
  if (n_ch == 0 || imp_recording_get_n_samples (recording) <= 0)
    {
      g_set_error_literal (error, IMP_RECORDING_ERROR,
                           IMP_RECORDING_ERROR_MALFORMED,
                           "The recording has no samples to overview");
      return NULL;
    }

  self = g_new0 (ImpPyramid, 1);
  g_atomic_ref_count_init (&self->ref_count);
  g_mutex_init (&self->lock);
  g_mutex_init (&self->build_lock);
  self->recording = imp_recording_ref (recording);
  self->path = project_path != NULL
    ? g_strdup (project_path)
    : imp_project_path_for (imp_recording_get_path (recording));
  self->n_channels = n_ch;
  self->chunk_channels = MIN (CHUNK_CHANNELS, n_ch);
  self->n_samples = imp_recording_get_n_samples (recording);
  self->n_levels = count_levels (self->n_samples);
  self->levels = g_new0 (Level, self->n_levels);
  self->gain = g_new (double, n_ch);
  self->offset = g_new (double, n_ch);
  self->memory_file = H5I_INVALID_HID;
  self->cache = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL,
                                       chunk_free);
  for (guint c = 0; c < n_ch; c++)
    {
      const ImpChannel *ch = imp_recording_get_channel (recording, c);

      self->gain[c] = ch->gain;
      self->offset[c] = ch->offset;
    }
  for (guint k = 0; k < self->n_levels; k++)
    {
      self->levels[k].bin = imp_pyramid_bin_samples (k);
      self->levels[k].n_bins = n_bins_of (self->n_samples, k);
      for (guint i = 0; i < N_STATS; i++)
        self->levels[k].dset[i] = H5I_INVALID_HID;
    }
  set_encoding (self, likely_encoding (recording));

  load (self);
  return self;
}

/**
 * imp_pyramid_ref:
 * @self: a pyramid
 *
 * Returns: (transfer full): @self with one more reference
 */
ImpPyramid *
imp_pyramid_ref (ImpPyramid *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

/**
 * imp_pyramid_unref:
 * @self: (transfer full): a pyramid
 *
 * Drops a reference. A build must not be running when the last one goes.
 */
void
imp_pyramid_unref (ImpPyramid *self)
{
  g_return_if_fail (self != NULL);

  if (g_atomic_ref_count_dec (&self->ref_count))
    pyramid_free (self);
}

/**
 * imp_pyramid_build:
 * @self: a pyramid
 * @progress: (nullable) (scope call): called after every row of samples
 * @user_data: for @progress
 * @cancellable: (nullable): checked before every read of the recording
 * @error: return location for a #GError
 *
 * Builds the pyramid, unless it is complete, by reading the recording
 * once, and saves it to the project file, atomically. Blocks; run it in a
 * worker thread. Queries from other threads meanwhile see the samples
 * read so far. Builds of one pyramid run one at a time; a build after a
 * cancelled or failed one starts again from the first sample.
 *
 * A cancelled build returns %G_IO_ERROR_CANCELLED, keeps what it read
 * for queries and leaves no file. If the project file cannot be written
 * the pyramid is complete and usable all the same (kept in memory, or in
 * the unsaved file) and @error says why (%IMP_RECORDING_ERROR_IO).
 *
 * Returns: %TRUE if the pyramid is complete and saved
 */
gboolean
imp_pyramid_build (ImpPyramid       *self,
                   ImpProgressFunc   progress,
                   gpointer          user_data,
                   GCancellable     *cancellable,
                   GError          **error)
{
  Encoding encoding;
  gboolean not_codes = FALSE;
  gboolean ok;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  g_mutex_lock (&self->build_lock);
  if (imp_pyramid_is_complete (self))
    {
      g_mutex_unlock (&self->build_lock);
      if (progress != NULL)
        progress (1.0, STAGE, user_data);
      return TRUE;
    }

  /* Cancelled already: keep what an earlier build left. */
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    {
      g_mutex_unlock (&self->build_lock);
      return FALSE;
    }

  encoding = likely_encoding (self->recording);
  ok = build_pass (self, encoding, progress, user_data, cancellable,
                   &not_codes, error);
  if (!ok && not_codes)
    {
      g_debug ("%s holds values that are not int16 codes of their scale; "
               "its overview is kept in float32",
               self->recording->path);
      ok = build_pass (self, ENCODING_FLOAT32, progress, user_data,
                       cancellable, &not_codes, error);
    }
  g_mutex_unlock (&self->build_lock);

  return ok;
}

/**
 * imp_pyramid_get_built_samples:
 * @self: a pyramid
 *
 * Returns: n such that samples [0, n) of every channel are covered
 */
gint64
imp_pyramid_get_built_samples (ImpPyramid *self)
{
  gint64 built;

  g_return_val_if_fail (self != NULL, 0);

  g_mutex_lock (&self->lock);
  built = self->built;
  g_mutex_unlock (&self->lock);
  return built;
}

/**
 * imp_pyramid_is_complete:
 * @self: a pyramid
 *
 * Returns: whether every sample is covered
 */
gboolean
imp_pyramid_is_complete (ImpPyramid *self)
{
  gboolean complete;

  g_return_val_if_fail (self != NULL, FALSE);

  g_mutex_lock (&self->lock);
  complete = self->complete;
  g_mutex_unlock (&self->lock);
  return complete;
}

/**
 * imp_pyramid_get_n_levels:
 * @self: a pyramid
 *
 * Returns: the number of levels, at least 1; the coarsest has at most
 *   2048 bins
 */
guint
imp_pyramid_get_n_levels (ImpPyramid *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->n_levels;
}

/**
 * imp_pyramid_get_path:
 * @self: a pyramid
 *
 * Returns: the project file it was loaded from or is saved to
 */
const char *
imp_pyramid_get_path (ImpPyramid *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->path;
}

/**
 * imp_pyramid_get_samples_read:
 * @self: a pyramid
 *
 * Returns: samples per channel its builds read from the recording: 0 for
 *   a pyramid loaded from its project file
 */
gint64
imp_pyramid_get_samples_read (ImpPyramid *self)
{
  gint64 n;

  g_return_val_if_fail (self != NULL, 0);

  g_mutex_lock (&self->lock);
  n = self->samples_read;
  g_mutex_unlock (&self->lock);
  return n;
}

/**
 * imp_pyramid_is_int16:
 * @self: a pyramid
 *
 * Returns: whether it stores int16 codes (else float32)
 */
gboolean
imp_pyramid_is_int16 (ImpPyramid *self)
{
  gboolean int16;

  g_return_val_if_fail (self != NULL, FALSE);

  g_mutex_lock (&self->lock);
  int16 = self->encoding == ENCODING_INT16;
  g_mutex_unlock (&self->lock);
  return int16;
}

static void
fill_nan (float *values,
          guint  n)
{
  if (values != NULL)
    for (guint j = 0; j < n; j++)
      values[j] = NAN;
}

/**
 * imp_pyramid_query:
 * @self: a pyramid
 * @channel: a channel
 * @first_sample: where column 0 starts (may be negative)
 * @samples_per_column: samples per column, at least 1
 *   (%IMP_PYRAMID_BASE or more to read fewer bins than samples)
 * @n_columns: columns to fill
 * @min: (out caller-allocates) (array length=n_columns): minimum per column
 * @max: (out caller-allocates) (array length=n_columns): maximum per column
 * @mean: (out caller-allocates) (array length=n_columns) (nullable): mean
 *   per column
 *
 * Summarises columns from the coarsest level whose bins are no longer
 * than a column. A column covers every bin it overlaps, so it is exact
 * when it starts on a bin boundary and spans whole bins; bins are cut at
 * the end of what is built (or of the recording), so a column is never
 * summarised from samples not yet read. NaN samples count in no minimum,
 * maximum or mean; a column without samples (outside what is built, or
 * all NaN) is NaN. The mean of several bins weighs each bin mean by its
 * samples (NaN ones included); in int16 mode bin means are rounded to a
 * code, within half a code of the exact mean.
 *
 * Returns: the number of bins read
 */
gint64
imp_pyramid_query (ImpPyramid *self,
                   guint       channel,
                   gint64      first_sample,
                   gint64      samples_per_column,
                   guint       n_columns,
                   float      *min,
                   float      *max,
                   float      *mean)
{
  gint64 bins_read = 0;
  gint64 last_end = G_MININT64;
  gint64 bin, limit;
  Run run = { 0, 0, { NULL } };
  guint k;
  guint j;

  g_return_val_if_fail (self != NULL, 0);
  g_return_val_if_fail (channel < self->n_channels, 0);
  g_return_val_if_fail (samples_per_column > 0, 0);
  g_return_val_if_fail (min != NULL && max != NULL, 0);

  fill_nan (min, n_columns);
  fill_nan (max, n_columns);
  fill_nan (mean, n_columns);
  /* Far beyond any recording, and far enough from overflow. */
  if (samples_per_column > G_MAXINT64 / 4 || first_sample < G_MININT64 / 4
      || first_sample > G_MAXINT64 / 4)
    return 0;

  k = level_for (self, samples_per_column);
  bin = self->levels[k].bin;

  g_mutex_lock (&self->lock);
  limit = MIN (self->built, self->n_samples);
  for (j = 0; j < n_columns; j++)
    {
      gint64 s0 = first_sample + (gint64) j * samples_per_column;
      gint64 s1 = s0 + samples_per_column;
      Fold f = { INFINITY, -INFINITY, 0.0, 0.0 };
      gint64 b0, b1, b;
      gboolean missing = FALSE;

      if (s0 >= limit)
        break;
      if (s1 <= 0)
        continue;
      b0 = MAX (s0, 0) / bin;
      b1 = (MIN (s1, limit) - 1) / bin + 1;
      for (b = b0; b < b1;)
        {
          gint64 n;

          if ((b < run.first || b >= run.end)
              && !find_run (self, k, channel, b, &run))
            {
              /* Part of the column cannot be read: it shows nothing,
               * rather than a summary of the rest. */
              missing = TRUE;
              break;
            }
          n = MIN (b1, run.end) - b;
          fold_run (self, &run, b, n, bin, limit, &f);
          b += n;
        }
      bins_read += b1 - MAX (b0, last_end);
      last_end = b1;
      if (!missing)
        fold_output (self, channel, &f, &min[j], &max[j],
                     mean != NULL ? &mean[j] : NULL);
    }
  g_mutex_unlock (&self->lock);

  return bins_read;
}
