/* imp-trace-cache.c
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "imp-trace-cache.h"

/* Past this many blocks (2 KiB each) the cache starts again. */
#define MAX_BLOCKS 4096
/* Most channels read in one call. */
#define MAX_RUN    64

typedef struct
{
  guint n_cols;
  float min[IMP_TRACE_CACHE_BLOCK];
  float max[IMP_TRACE_CACHE_BLOCK];
} Block;

struct _ImpTraceCache
{
  ImpRecording *recording;
  GHashTable   *blocks;        /* block_key () -> Block */
  guint         level;
  GArray      **ap_samples;    /* per channel, sorted gint64 */
  guint         n_ap_channels;
  guint64       samples_read;
};

static guint64
block_key (guint  channel,
           gint64 block)
{
  return ((guint64) channel << 40) | (guint64) block;
}

static gint64
column_width (ImpTraceCache *self)
{
  return G_GINT64_CONSTANT (1) << self->level;
}

/**
 * imp_trace_cache_new:
 * @recording: the recording to read
 *
 * Returns: (transfer full): an empty cache at level 0
 */
ImpTraceCache *
imp_trace_cache_new (ImpRecording *recording)
{
  ImpTraceCache *self;

  g_return_val_if_fail (recording != NULL, NULL);

  self = g_new0 (ImpTraceCache, 1);
  self->recording = imp_recording_ref (recording);
  self->blocks = g_hash_table_new_full (g_int64_hash, g_int64_equal,
                                        g_free, g_free);
  return self;
}

static void
clear_ap_samples (ImpTraceCache *self)
{
  for (guint i = 0; i < self->n_ap_channels; i++)
    g_array_unref (self->ap_samples[i]);
  g_clear_pointer (&self->ap_samples, g_free);
  self->n_ap_channels = 0;
}

/**
 * imp_trace_cache_free:
 * @self: a #ImpTraceCache
 */
void
imp_trace_cache_free (ImpTraceCache *self)
{
  if (self == NULL)
    return;

  clear_ap_samples (self);
  g_hash_table_unref (self->blocks);
  imp_recording_unref (self->recording);
  g_free (self);
}

static gint
compare_gint64 (gconstpointer a,
                gconstpointer b)
{
  gint64 ia = *(const gint64 *) a;
  gint64 ib = *(const gint64 *) b;

  return (ia > ib) - (ia < ib);
}

/**
 * imp_trace_cache_set_result:
 * @self: a #ImpTraceCache
 * @result: (nullable): the analysis of the cache's recording
 *
 * Takes the action potentials of @result, to read wide columns around
 * them. A result for a different channel count is ignored. Clears the
 * cache, whose wide columns were read without them.
 */
void
imp_trace_cache_set_result (ImpTraceCache     *self,
                            ImpAnalysisResult *result)
{
  guint n = imp_recording_get_n_channels (self->recording);

  g_return_if_fail (self != NULL);

  clear_ap_samples (self);
  imp_trace_cache_clear (self);

  if (result == NULL || result->aps == NULL || result->n_channels != n)
    return;

  self->ap_samples = g_new0 (GArray *, n);
  self->n_ap_channels = n;

  for (guint c = 0; c < n; c++)
    {
      GArray *aps = result->aps[c];

      self->ap_samples[c] = g_array_new (FALSE, FALSE, sizeof (gint64));
      for (guint i = 0; aps != NULL && i < aps->len; i++)
        g_array_append_val (self->ap_samples[c],
                            g_array_index (aps, ImpEvent, i).sample);
      g_array_sort (self->ap_samples[c], compare_gint64);
    }
}

/**
 * imp_trace_cache_get_ap_samples:
 * @self: a #ImpTraceCache
 * @channel: a channel
 *
 * Returns: (transfer none) (nullable): the channel's AP peaks as sorted
 *   sample indices, or %NULL without a result
 */
GArray *
imp_trace_cache_get_ap_samples (ImpTraceCache *self,
                                guint          channel)
{
  g_return_val_if_fail (self != NULL, NULL);

  if (channel >= self->n_ap_channels)
    return NULL;

  return self->ap_samples[channel];
}

/**
 * imp_trace_cache_level_for:
 * @samples_per_column: samples per pixel column of the view
 *
 * Returns: the level whose columns are between half and one pixel wide
 */
guint
imp_trace_cache_level_for (double samples_per_column)
{
  guint level = 0;

  while (level < 40 &&
         (double) (G_GINT64_CONSTANT (2) << level) <= samples_per_column)
    level++;

  return level;
}

/**
 * imp_trace_cache_set_level:
 * @self: a #ImpTraceCache
 * @level: columns of 2^@level samples
 *
 * Changes the column width, dropping what was read at the old one.
 */
void
imp_trace_cache_set_level (ImpTraceCache *self,
                           guint          level)
{
  g_return_if_fail (self != NULL);
  g_return_if_fail (level <= 40);

  if (level == self->level)
    return;

  imp_trace_cache_clear (self);
  self->level = level;
}

/**
 * imp_trace_cache_get_level:
 * @self: a #ImpTraceCache
 *
 * Returns: the current level
 */
guint
imp_trace_cache_get_level (ImpTraceCache *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->level;
}

/**
 * imp_trace_cache_get_n_columns:
 * @self: a #ImpTraceCache
 *
 * Returns: how many columns cover the recording at the current level
 */
gint64
imp_trace_cache_get_n_columns (ImpTraceCache *self)
{
  gint64 spc;

  g_return_val_if_fail (self != NULL, 0);

  spc = column_width (self);
  return (imp_recording_get_n_samples (self->recording) + spc - 1) / spc;
}

/**
 * imp_trace_cache_clear:
 * @self: a #ImpTraceCache
 *
 * Forgets every column read.
 */
void
imp_trace_cache_clear (ImpTraceCache *self)
{
  g_return_if_fail (self != NULL);

  g_hash_table_remove_all (self->blocks);
}

static Block *
lookup_block (ImpTraceCache *self,
              guint          channel,
              gint64         block)
{
  guint64 key = block_key (channel, block);

  return g_hash_table_lookup (self->blocks, &key);
}

/* The first AP of @channel in [start, start + length), or -1. */
static gint64
find_ap (ImpTraceCache *self,
         guint          channel,
         gint64         start,
         gint64         length)
{
  GArray *aps;
  guint lo = 0;
  guint hi;

  if (channel >= self->n_ap_channels)
    return -1;

  aps = self->ap_samples[channel];
  hi = aps->len;
  while (lo < hi)
    {
      guint mid = (lo + hi) / 2;

      if (g_array_index (aps, gint64, mid) < start)
        lo = mid + 1;
      else
        hi = mid;
    }

  if (lo < aps->len && g_array_index (aps, gint64, lo) < start + length)
    return g_array_index (aps, gint64, lo);

  return -1;
}

static void
min_max (const float *values,
         gint64       n,
         float       *out_min,
         float       *out_max)
{
  float lo = values[0];
  float hi = values[0];

  for (gint64 i = 1; i < n; i++)
    {
      lo = MIN (lo, values[i]);
      hi = MAX (hi, values[i]);
    }

  *out_min = lo;
  *out_max = hi;
}

static gboolean
read_samples (ImpTraceCache  *self,
              guint           first,
              guint           n_run,
              gint64          start,
              gint64          n,
              float          *out,
              GError        **error)
{
  self->samples_read += (guint64) n_run * n;
  return imp_recording_read (self->recording, first, n_run, start, n, out,
                             error);
}

/* Fills @blocks[0..n_run) with block @block of the adjacent channels
 * @first ... @first + @n_run - 1. Channels are read together, since one
 * read of several channels costs about as much as a read of one. */
static gboolean
read_blocks (ImpTraceCache  *self,
             guint           first,
             guint           n_run,
             gint64          block,
             Block         **blocks,
             GError        **error)
{
  gint64 n_samples = imp_recording_get_n_samples (self->recording);
  gint64 spc = column_width (self);
  gint64 start = block * IMP_TRACE_CACHE_BLOCK * spc;
  gint64 n_cols;
  g_autofree float *buffer = NULL;

  g_assert (start < n_samples);

  n_cols = MIN (IMP_TRACE_CACHE_BLOCK, (n_samples - start + spc - 1) / spc);
  for (guint k = 0; k < n_run; k++)
    blocks[k]->n_cols = n_cols;

  if (spc <= IMP_TRACE_CACHE_EXACT)
    {
      gint64 n = MIN (n_cols * spc, n_samples - start);

      buffer = g_new (float, n_run * n);
      if (!read_samples (self, first, n_run, start, n, buffer, error))
        return FALSE;

      for (guint k = 0; k < n_run; k++)
        for (gint64 c = 0; c < n_cols; c++)
          min_max (buffer + k * n + c * spc, MIN (spc, n - c * spc),
                   &blocks[k]->min[c], &blocks[k]->max[c]);
      return TRUE;
    }

  buffer = g_new (float, n_run * IMP_TRACE_CACHE_STRIDE);
  for (gint64 c = 0; c < n_cols; c++)
    {
      gint64 col = start + c * spc;
      gint64 length = MIN (spc, n_samples - col);
      gint64 width = MIN (IMP_TRACE_CACHE_STRIDE, length);

      if (!read_samples (self, first, n_run, col + (length - width) / 2,
                         width, buffer, error))
        return FALSE;

      for (guint k = 0; k < n_run; k++)
        {
          gint64 ap = find_ap (self, first + k, col, length);

          if (ap >= 0)
            {
              gint64 pos = CLAMP (ap - width / 2, col, col + length - width);

              if (!read_samples (self, first + k, 1, pos, width,
                                 buffer + k * width, error))
                return FALSE;
            }

          min_max (buffer + k * width, width,
                   &blocks[k]->min[c], &blocks[k]->max[c]);
        }
    }

  return TRUE;
}

static gint
compare_guint (gconstpointer a,
               gconstpointer b)
{
  guint ia = *(const guint *) a;
  guint ib = *(const guint *) b;

  return (ia > ib) - (ia < ib);
}

/* Reads block @block of those of @channels that lack it, in runs of
 * adjacent channels, until @deadline_us. */
static gboolean
fetch_block (ImpTraceCache  *self,
             const guint    *channels,
             guint           n_channels,
             gint64          block,
             gint64          deadline_us,
             gboolean       *complete,
             GError        **error)
{
  g_autoptr(GArray) missing = g_array_new (FALSE, FALSE, sizeof (guint));
  Block *blocks[MAX_RUN];
  guint i = 0;

  for (guint k = 0; k < n_channels; k++)
    if (lookup_block (self, channels[k], block) == NULL)
      g_array_append_val (missing, channels[k]);
  g_array_sort (missing, compare_guint);

  while (i < missing->len)
    {
      guint first = g_array_index (missing, guint, i);
      guint n_run = 1;

      if (g_get_monotonic_time () > deadline_us)
        {
          *complete = FALSE;
          return TRUE;
        }

      while (i + n_run < missing->len && n_run < MAX_RUN &&
             g_array_index (missing, guint, i + n_run) == first + n_run)
        n_run++;

      for (guint k = 0; k < n_run; k++)
        blocks[k] = g_new0 (Block, 1);

      if (!read_blocks (self, first, n_run, block, blocks, error))
        {
          for (guint k = 0; k < n_run; k++)
            g_free (blocks[k]);
          return FALSE;
        }

      for (guint k = 0; k < n_run; k++)
        {
          guint64 *key = g_new (guint64, 1);

          *key = block_key (first + k, block);
          g_hash_table_insert (self->blocks, key, blocks[k]);
        }

      i += n_run;
    }

  return TRUE;
}

/**
 * imp_trace_cache_fetch:
 * @self: a #ImpTraceCache
 * @channels: (array length=n_channels): the channels shown
 * @n_channels: how many
 * @first_column: the first column shown, at the current level
 * @end_column: one past the last
 * @deadline_us: stop reading after this g_get_monotonic_time ()
 * @complete: (out): whether every column asked for is now cached
 * @error: return location for a #GError
 *
 * Reads what is missing of the columns shown, until @deadline_us.
 *
 * Returns: %FALSE if a read failed
 */
gboolean
imp_trace_cache_fetch (ImpTraceCache *self,
                       const guint   *channels,
                       guint          n_channels,
                       gint64         first_column,
                       gint64         end_column,
                       gint64         deadline_us,
                       gboolean      *complete,
                       GError       **error)
{
  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (complete != NULL, FALSE);

  *complete = TRUE;

  first_column = MAX (first_column, 0);
  end_column = MIN (end_column, imp_trace_cache_get_n_columns (self));
  if (end_column <= first_column || n_channels == 0)
    return TRUE;

  if (g_hash_table_size (self->blocks) > MAX_BLOCKS)
    imp_trace_cache_clear (self);

  for (gint64 b = first_column / IMP_TRACE_CACHE_BLOCK;
       b <= (end_column - 1) / IMP_TRACE_CACHE_BLOCK;
       b++)
    {
      if (!fetch_block (self, channels, n_channels, b, deadline_us,
                        complete, error))
        return FALSE;
      if (!*complete)
        return TRUE;
    }

  return TRUE;
}

/**
 * imp_trace_cache_get_column:
 * @self: a #ImpTraceCache
 * @channel: a channel
 * @column: a column at the current level
 * @min: (out): the least sample read in it
 * @max: (out): the greatest
 *
 * Returns: %TRUE if the column has been read
 */
gboolean
imp_trace_cache_get_column (ImpTraceCache *self,
                            guint          channel,
                            gint64         column,
                            float         *min,
                            float         *max)
{
  Block *block;
  guint i;

  if (column < 0)
    return FALSE;

  block = lookup_block (self, channel, column / IMP_TRACE_CACHE_BLOCK);
  i = column % IMP_TRACE_CACHE_BLOCK;
  if (block == NULL || i >= block->n_cols)
    return FALSE;

  *min = block->min[i];
  *max = block->max[i];
  return TRUE;
}

/**
 * imp_trace_cache_get_samples_read:
 * @self: a #ImpTraceCache
 *
 * Returns: how many samples (summed over channels) have been read
 */
guint64
imp_trace_cache_get_samples_read (ImpTraceCache *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->samples_read;
}
