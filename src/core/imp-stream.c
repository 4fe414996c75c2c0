/* imp-stream.c
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <string.h>

#include <libdeflate.h>

#include "imp-recording-private.h"
#include "imp-stream.h"

/* Channel groups hold at most GROUP_CHANNELS neighbours, and are made
 * smaller when there are few channels, so that every worker has about
 * GROUPS_PER_WORKER groups to choose from. */
#define GROUP_CHANNELS     64
#define GROUPS_PER_WORKER  4
#define MAX_WORKERS        8
/* Rows kept beyond those one block spans, so that the reader reads the
 * next block while the workers detect on this one. */
#define RING_SPARE_ROWS    2
/* Chunks are read raw only when a row of them is of reasonable size; a
 * file chunked otherwise is read through imp_recording_read() in rows of
 * at most GENERIC_ROWS samples and GENERIC_ROW_BYTES. */
#define DIRECT_MIN_ROWS    256
#define DIRECT_MAX_ROW_BYTES (256u << 20)
#define GENERIC_ROWS       8192
#define GENERIC_MIN_ROWS   1024
#define GENERIC_ROW_BYTES  (64u << 20)
/* Samples converted at a time per channel when gathering a block, so that
 * the stretch of a chunk being transposed stays in the first-level cache. */
#define GATHER_TILE        128
/* How often the calling thread looks at the cancellable and reports. */
#define POLL_US            (50 * 1000)

typedef struct
{
  gint64 t0, t1;       /* the block */
  gint64 r0, r1;       /* what is read for it */
  gint64 k_lo, k_hi;   /* the rows r0 .. r1 - 1 lie in */
  guint  sweep;
} Block;

typedef struct
{
  GByteArray   *raw;       /* as stored */
  guint32       mask;      /* filters skipped when it was written */
  gint16       *decoded;   /* when it had to be decoded */
  const gint16 *data;      /* its samples: raw, decoded or zeros */
} Chunk;

typedef struct
{
  gint64  row;             /* the row it holds, -1 for none */
  gint64  len;             /* samples in that row */
  Chunk  *chunks;          /* direct: one per chunk column */
  float  *values;          /* otherwise: n_channels × len, channel-major */
} Slot;

typedef enum
{
  ROW_WAITING,
  ROW_LOADING,
  ROW_READY,
} RowState;

typedef struct
{
  ImpStream                     *stream;
  guint                          index;
  float                         *buf;
  struct libdeflate_decompressor *inflater;
  guint8                        *scratch[2];
} Worker;

struct _ImpStream
{
  ImpRecording   *rec;
  guint           n_channels;
  gint64          n_samples;
  double         *gain;
  double         *offset;
  GArray         *blocks;        /* Block */
  guint           group_size;
  guint           n_groups;
  guint8         *wanted;        /* n_blocks × n_groups, NULL for all */
  guint           n_workers;
  gboolean        direct_allowed;
  gint64          max_len;       /* longest r1 - r0 */

  /* the geometry of one run */
  gboolean        direct;
  ImpChunkLayout  layout;
  gsize           chunk_bytes;
  gint16         *zeros;
  gint64          rows;          /* samples per row */
  gint64          n_rows;
  guint           n_units;       /* chunk columns, or groups */
  guint           n_slots;
  Slot           *slots;
  guint8         *row_units;     /* n_rows × n_units: read these */

  /* state of a run, under lock */
  GMutex          lock;
  GCond           cond;
  ImpStreamFunc   func;
  gpointer        user_data;
  GCancellable   *cancellable;
  guint8         *row_state;     /* RowState per row */
  guint          *row_pending;   /* per row: the reader and its decodes */
  GQueue          decodes;       /* row * n_units + unit */
  guint          *next_block;    /* per group */
  guint8         *running;       /* per group */
  gint64          low_row;       /* no job left needs a row below it */
  guint           jobs_left;
  double          work_done;
  double          work_total;
  gboolean        stop;
  GError         *error;

  ImpStreamStats  stats;
};

static void
split_sweep (ImpStream      *self,
             const ImpSweep *sweep,
             guint           index,
             gint64          block,
             gint64          pad_before,
             gint64          pad_after)
{
  gint64 end = sweep->start_sample + sweep->n_samples;
  gint64 t;

  for (t = sweep->start_sample; t < end; t += block)
    {
      Block b = { 0 };

      b.t0 = t;
      b.t1 = MIN (t + block, end);
      if (end - b.t1 < block / 2)
        b.t1 = end;
      b.r0 = MAX (sweep->start_sample, b.t0 - pad_before);
      b.r1 = MIN (end, b.t1 + pad_after);
      b.sweep = index;
      self->max_len = MAX (self->max_len, b.r1 - b.r0);
      g_array_append_val (self->blocks, b);
      if (b.t1 == end)
        break;
    }
}

/**
 * imp_stream_new:
 * @recording: the recording
 * @block_samples: length of a block; blocks never cross a sweep's border,
 *   and a sweep's remainder shorter than half a block joins its last block
 * @pad_before: samples read before each block, within its sweep
 * @pad_after: samples read after each block, within its sweep
 *
 * Returns: (transfer full): a plan to stream @recording; every block of
 *   every group is delivered unless imp_stream_want() picks some
 */
ImpStream *
imp_stream_new (ImpRecording *recording,
                gint64        block_samples,
                gint64        pad_before,
                gint64        pad_after)
{
  ImpStream *self;
  guint i, n_sweeps, per_worker;

  g_return_val_if_fail (recording != NULL, NULL);
  g_return_val_if_fail (block_samples > 0, NULL);
  g_return_val_if_fail (pad_before >= 0 && pad_after >= 0, NULL);

  self = g_new0 (ImpStream, 1);
  self->rec = imp_recording_ref (recording);
  self->n_channels = imp_recording_get_n_channels (recording);
  self->n_samples = imp_recording_get_n_samples (recording);
  self->gain = g_new (double, MAX (self->n_channels, 1));
  self->offset = g_new (double, MAX (self->n_channels, 1));
  for (i = 0; i < self->n_channels; i++)
    {
      const ImpChannel *ch = imp_recording_get_channel (recording, i);

      self->gain[i] = ch->gain;
      self->offset[i] = ch->offset;
    }
  self->n_workers = CLAMP (g_get_num_processors (), 1, MAX_WORKERS);
  self->direct_allowed = TRUE;
  self->blocks = g_array_new (FALSE, FALSE, sizeof (Block));
  n_sweeps = imp_recording_get_n_sweeps (recording);
  for (i = 0; i < n_sweeps; i++)
    split_sweep (self, imp_recording_get_sweep (recording, i), i,
                 block_samples, pad_before, pad_after);

  per_worker = (self->n_channels + GROUPS_PER_WORKER * self->n_workers - 1)
               / (GROUPS_PER_WORKER * self->n_workers);
  self->group_size = CLAMP (per_worker, 1, GROUP_CHANNELS);
  self->n_groups = (self->n_channels + self->group_size - 1)
                   / self->group_size;

  g_mutex_init (&self->lock);
  g_cond_init (&self->cond);
  g_queue_init (&self->decodes);
  return self;
}

static void
free_ring (ImpStream *self)
{
  guint s, u;

  for (s = 0; s < self->n_slots; s++)
    {
      Slot *slot = &self->slots[s];

      if (slot->chunks != NULL)
        for (u = 0; u < self->n_units; u++)
          {
            if (slot->chunks[u].raw != NULL)
              g_byte_array_unref (slot->chunks[u].raw);
            g_free (slot->chunks[u].decoded);
          }
      g_free (slot->chunks);
      g_free (slot->values);
    }
  g_clear_pointer (&self->slots, g_free);
  self->n_slots = 0;
  g_clear_pointer (&self->zeros, g_free);
  g_clear_pointer (&self->row_units, g_free);
  g_clear_pointer (&self->row_state, g_free);
  g_clear_pointer (&self->row_pending, g_free);
  g_clear_pointer (&self->next_block, g_free);
  g_clear_pointer (&self->running, g_free);
  g_queue_clear (&self->decodes);
}

void
imp_stream_free (ImpStream *self)
{
  if (self == NULL)
    return;

  free_ring (self);
  g_array_unref (self->blocks);
  g_free (self->wanted);
  g_free (self->gain);
  g_free (self->offset);
  g_clear_error (&self->error);
  g_mutex_clear (&self->lock);
  g_cond_clear (&self->cond);
  imp_recording_unref (self->rec);
  g_free (self);
}

/* Reads raw chunks, or (FALSE) goes through imp_recording_read(), which
 * uses HDF5's own filters; for tests and comparisons. */
void
imp_stream_set_direct (ImpStream *self,
                       gboolean   direct)
{
  g_return_if_fail (self != NULL);

  self->direct_allowed = direct;
}

void
imp_stream_set_n_workers (ImpStream *self,
                          guint      n_workers)
{
  g_return_if_fail (self != NULL);

  self->n_workers = CLAMP (n_workers, 1, MAX_WORKERS);
}

guint
imp_stream_get_n_blocks (ImpStream *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->blocks->len;
}

void
imp_stream_get_block (ImpStream *self,
                      guint      block,
                      gint64    *t0,
                      gint64    *t1)
{
  const Block *b;

  g_return_if_fail (self != NULL);
  g_return_if_fail (block < self->blocks->len);

  b = &g_array_index (self->blocks, Block, block);
  if (t0 != NULL)
    *t0 = b->t0;
  if (t1 != NULL)
    *t1 = b->t1;
}

/* Returns: the block holding @sample, or the number of blocks */
guint
imp_stream_block_at (ImpStream *self,
                     gint64     sample)
{
  guint lo = 0, hi;

  g_return_val_if_fail (self != NULL, 0);

  hi = self->blocks->len;
  while (lo < hi)
    {
      guint mid = lo + (hi - lo) / 2;

      if (g_array_index (self->blocks, Block, mid).t1 <= sample)
        lo = mid + 1;
      else
        hi = mid;
    }
  if (lo < self->blocks->len
      && g_array_index (self->blocks, Block, lo).t0 > sample)
    return self->blocks->len;
  return lo;
}

guint
imp_stream_get_n_groups (ImpStream *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->n_groups;
}

guint
imp_stream_group_of (ImpStream *self,
                     guint      channel)
{
  g_return_val_if_fail (self != NULL, 0);
  g_return_val_if_fail (channel < self->n_channels, 0);

  return channel / self->group_size;
}

guint
imp_stream_get_n_workers (ImpStream *self)
{
  g_return_val_if_fail (self != NULL, 1);

  return self->n_workers;
}

/* Asks for (@block, @group). Once anything is asked for, only what was
 * asked for is read and delivered. */
void
imp_stream_want (ImpStream *self,
                 guint      block,
                 guint      group)
{
  g_return_if_fail (self != NULL);
  g_return_if_fail (block < self->blocks->len);
  g_return_if_fail (group < self->n_groups);

  if (self->wanted == NULL)
    self->wanted = g_new0 (guint8, (gsize) self->blocks->len
                                   * self->n_groups);
  self->wanted[(gsize) block * self->n_groups + group] = 1;
}

void
imp_stream_get_stats (ImpStream      *self,
                      ImpStreamStats *stats)
{
  g_return_if_fail (self != NULL);
  g_return_if_fail (stats != NULL);

  *stats = self->stats;
}

static inline gboolean
is_wanted (ImpStream *self,
           guint      block,
           guint      group)
{
  return self->wanted == NULL
         || self->wanted[(gsize) block * self->n_groups + group];
}

static inline guint
group_first (ImpStream *self,
             guint      group)
{
  return group * self->group_size;
}

static inline guint
group_count (ImpStream *self,
             guint      group)
{
  return MIN (self->group_size,
              self->n_channels - group * self->group_size);
}

static gboolean
filters_need_decoding (const ImpChunkLayout *layout)
{
  return layout->n_filters > 0 || layout->swap_bytes;
}

/* Chooses how to read, sizes the ring and marks which units (chunk
 * columns, or groups) of which rows the wanted blocks need. */
static void
plan_run (ImpStream *self)
{
  gint64 max_span = 1;
  gsize row_bytes;
  guint b, g, s;

  free_ring (self);
  self->direct = FALSE;
  if (self->direct_allowed
      && _imp_recording_chunk_layout (self->rec, &self->layout))
    {
      guint n_cols = (self->n_channels + self->layout.cols - 1)
                     / self->layout.cols;

      self->chunk_bytes = (gsize) self->layout.rows * self->layout.cols * 2;
      row_bytes = self->chunk_bytes * n_cols;
      if (self->layout.rows >= DIRECT_MIN_ROWS
          && row_bytes <= DIRECT_MAX_ROW_BYTES)
        {
          self->direct = TRUE;
          self->rows = self->layout.rows;
          self->n_units = n_cols;
        }
    }
  if (!self->direct)
    {
      self->rows = CLAMP ((gint64) (GENERIC_ROW_BYTES
                                    / (4 * (gsize) MAX (self->n_channels, 1))),
                          GENERIC_MIN_ROWS, GENERIC_ROWS);
      self->n_units = self->n_groups;
    }
  self->n_rows = (self->n_samples + self->rows - 1) / self->rows;

  for (b = 0; b < self->blocks->len; b++)
    {
      Block *bl = &g_array_index (self->blocks, Block, b);

      bl->k_lo = bl->r0 / self->rows;
      bl->k_hi = (bl->r1 - 1) / self->rows;
      max_span = MAX (max_span, bl->k_hi - bl->k_lo + 1);
    }
  self->n_slots = (guint) MIN (max_span + RING_SPARE_ROWS,
                               MAX (self->n_rows, 1));
  self->slots = g_new0 (Slot, self->n_slots);
  for (s = 0; s < self->n_slots; s++)
    {
      self->slots[s].row = -1;
      if (self->direct)
        self->slots[s].chunks = g_new0 (Chunk, self->n_units);
    }
  if (self->direct)
    self->zeros = g_malloc0 (self->chunk_bytes);

  self->row_units = g_new0 (guint8, (gsize) MAX (self->n_rows, 1)
                                    * self->n_units);
  for (b = 0; b < self->blocks->len; b++)
    {
      const Block *bl = &g_array_index (self->blocks, Block, b);

      for (g = 0; g < self->n_groups; g++)
        {
          guint u_lo = g, u_hi = g, u;
          gint64 k;

          if (!is_wanted (self, b, g))
            continue;
          if (self->direct)
            {
              u_lo = group_first (self, g) / self->layout.cols;
              u_hi = (group_first (self, g) + group_count (self, g) - 1)
                     / self->layout.cols;
            }
          for (k = bl->k_lo; k <= bl->k_hi; k++)
            for (u = u_lo; u <= u_hi; u++)
              self->row_units[(gsize) k * self->n_units + u] = 1;
        }
    }

  self->stats.direct = self->direct;
  self->stats.n_workers = self->n_workers;
  self->stats.buffer_bytes
    = (guint64) self->n_workers * self->group_size * self->max_len
      * sizeof (float)
      + (self->direct
         ? (guint64) self->n_slots * self->n_units * self->chunk_bytes
           * (filters_need_decoding (&self->layout) ? 2 : 1)
         : (guint64) self->n_slots * self->rows * self->n_channels
           * sizeof (float));
}

/* Under the lock: records the first error and stops everything. */
static void
fail_locked (ImpStream *self,
             GError    *error)
{
  if (self->error == NULL)
    self->error = error;
  else
    g_error_free (error);
  self->stop = TRUE;
  g_cond_broadcast (&self->cond);
}

static void
update_low_row_locked (ImpStream *self)
{
  gint64 low = self->n_rows;
  guint g;

  for (g = 0; g < self->n_groups; g++)
    if (self->next_block[g] < self->blocks->len)
      low = MIN (low, g_array_index (self->blocks, Block,
                                     self->next_block[g]).k_lo);
  self->low_row = low;
}

static guint
next_wanted (ImpStream *self,
             guint      group,
             guint      from)
{
  guint b;

  for (b = from; b < self->blocks->len && !is_wanted (self, b, group); b++)
    ;
  return b;
}

static void
row_done_locked (ImpStream *self,
                 gint64     row)
{
  g_assert (self->row_pending[row] > 0);
  if (--self->row_pending[row] == 0)
    {
      self->row_state[row] = ROW_READY;
      g_cond_broadcast (&self->cond);
    }
}

/* The reader: rows in order, each into its ring slot once no job needs
 * the row that slot held. */
static gboolean
read_row (ImpStream *self,
          gint64     row,
          GError   **error)
{
  Slot *slot = &self->slots[row % self->n_slots];
  const guint8 *units = self->row_units + (gsize) row * self->n_units;
  guint u;

  for (u = 0; u < self->n_units; u++)
    {
      if (!units[u])
        continue;
      if (g_atomic_int_get (&self->stop)
          || g_cancellable_is_cancelled (self->cancellable))
        return TRUE;

      if (self->direct)
        {
          Chunk *chunk = &slot->chunks[u];

          if (chunk->raw == NULL)
            chunk->raw = g_byte_array_new ();
          if (!_imp_recording_read_chunk (self->rec, row, u, chunk->raw,
                                          &chunk->mask, error))
            return FALSE;
          self->stats.chunks_read++;
          self->stats.bytes_read += chunk->raw->len;
          if (chunk->raw->len == 0)
            chunk->data = self->zeros;
          else if (!filters_need_decoding (&self->layout))
            {
              if (chunk->raw->len != self->chunk_bytes)
                {
                  g_set_error (error, IMP_RECORDING_ERROR,
                               IMP_RECORDING_ERROR_MALFORMED,
                               "The chunk of samples %" G_GINT64_FORMAT
                               " and channels %" G_GINT64_FORMAT " holds %u "
                               "bytes, not %" G_GSIZE_FORMAT "; the file is "
                               "damaged", row * self->rows,
                               (gint64) u * self->layout.cols,
                               chunk->raw->len, self->chunk_bytes);
                  return FALSE;
                }
              chunk->data = (const gint16 *) chunk->raw->data;
            }
          else
            {
              g_mutex_lock (&self->lock);
              self->row_pending[row]++;
              g_queue_push_tail (&self->decodes,
                                 GSIZE_TO_POINTER ((gsize) row * self->n_units
                                                   + u));
              g_cond_broadcast (&self->cond);
              g_mutex_unlock (&self->lock);
            }
        }
      else
        {
          guint first = group_first (self, u);

          if (!imp_recording_read (self->rec, first, group_count (self, u),
                                   row * self->rows, slot->len,
                                   slot->values + (gsize) first * slot->len,
                                   error))
            return FALSE;
          self->stats.chunks_read++;
          self->stats.bytes_read += (guint64) group_count (self, u)
                                     * slot->len * sizeof (gint16);
        }
    }
  return TRUE;
}

static gpointer
reader_main (gpointer data)
{
  ImpStream *self = data;
  gint64 row;

  for (row = 0; row < self->n_rows; row++)
    {
      Slot *slot = &self->slots[row % self->n_slots];
      GError *error = NULL;
      gboolean ok;

      g_mutex_lock (&self->lock);
      while (!self->stop && self->jobs_left > 0
             && row >= self->low_row + self->n_slots)
        g_cond_wait (&self->cond, &self->lock);
      if (self->stop || self->jobs_left == 0)
        {
          g_mutex_unlock (&self->lock);
          break;
        }
      self->row_state[row] = ROW_LOADING;
      self->row_pending[row] = 1;
      slot->row = row;
      slot->len = MIN (self->rows, self->n_samples - row * self->rows);
      g_mutex_unlock (&self->lock);

      if (!self->direct && slot->values == NULL)
        slot->values = g_new (float, (gsize) self->rows * self->n_channels);
      ok = read_row (self, row, &error);

      g_mutex_lock (&self->lock);
      if (!ok)
        fail_locked (self, error);
      else
        row_done_locked (self, row);
      g_mutex_unlock (&self->lock);
      if (!ok)
        break;
    }
  return NULL;
}

static void
unshuffle2 (const guint8 *in,
            gsize         n,
            guint8       *out)
{
  gsize half = n / 2, i;

  for (i = 0; i < half; i++)
    {
      out[2 * i] = in[i];
      out[2 * i + 1] = in[half + i];
    }
  if (n % 2 == 1)
    out[n - 1] = in[n - 1];
}

/* Undoes a chunk's filters (libdeflate for deflate) into its decoded
 * buffer, in native byte order. */
static gboolean
decode_chunk (ImpStream  *self,
              Worker     *w,
              gint64      row,
              guint       unit,
              GError    **error)
{
  Chunk *chunk = &self->slots[row % self->n_slots].chunks[unit];
  const guint8 *in = chunk->raw->data;
  gsize in_len = chunk->raw->len;
  gsize capacity = MAX (self->chunk_bytes, in_len) + 64;
  const char *problem = NULL;
  guint turn = 0;
  int f;

  for (guint i = 0; i < 2; i++)
    if (w->scratch[i] == NULL)
      w->scratch[i] = g_malloc (capacity);
    else
      w->scratch[i] = g_realloc (w->scratch[i], capacity);

  for (f = (int) self->layout.n_filters - 1; f >= 0 && problem == NULL; f--)
    {
      guint8 *out = w->scratch[turn];

      if (chunk->mask & (1u << f))
        continue;
      switch (self->layout.filters[f])
        {
        case IMP_CHUNK_FILTER_DEFLATE:
          {
            size_t got = 0;

            if (libdeflate_zlib_decompress (w->inflater, in, in_len, out,
                                            capacity, &got)
                != LIBDEFLATE_SUCCESS)
              problem = "its deflate stream is corrupt";
            in_len = got;
          }
          break;
        case IMP_CHUNK_FILTER_SHUFFLE:
          unshuffle2 (in, in_len, out);
          break;
        default:
          problem = "it uses an unknown filter";
          break;
        }
      in = out;
      turn = 1 - turn;
    }
  if (problem == NULL && in_len != self->chunk_bytes)
    problem = "it decodes to the wrong size";
  if (problem != NULL)
    {
      g_set_error (error, IMP_RECORDING_ERROR, IMP_RECORDING_ERROR_MALFORMED,
                   "The chunk of samples %" G_GINT64_FORMAT " and channels %"
                   G_GINT64_FORMAT " cannot be read: %s; the file is damaged",
                   row * self->rows, (gint64) unit * self->layout.cols,
                   problem);
      return FALSE;
    }

  if (chunk->decoded == NULL)
    chunk->decoded = g_malloc (self->chunk_bytes);
  if (self->layout.swap_bytes)
    {
      const guint16 *src = (const guint16 *) in;
      guint16 *dst = (guint16 *) chunk->decoded;
      gsize i;

      for (i = 0; i < self->chunk_bytes / 2; i++)
        dst[i] = GUINT16_SWAP_LE_BE (src[i]);
    }
  else
    memcpy (chunk->decoded, in, self->chunk_bytes);
  chunk->data = chunk->decoded;
  return TRUE;
}

/* Converts a block of a group to floats, channel-major, as
 * imp_recording_read() would: count × gain + offset in double, then
 * rounded to float. */
static void
gather (ImpStream   *self,
        const Block *bl,
        guint        group,
        float       *buf)
{
  guint first = group_first (self, group);
  guint n = group_count (self, group);
  gsize len = (gsize) (bl->r1 - bl->r0);
  gint64 k;

  for (k = bl->k_lo; k <= bl->k_hi; k++)
    {
      const Slot *slot = &self->slots[k % self->n_slots];
      gint64 row0 = k * self->rows;
      gint64 from = MAX (bl->r0, row0);
      gint64 to = MIN (bl->r1, row0 + slot->len);
      guint c;

      g_assert (slot->row == k);
      if (!self->direct)
        {
          for (c = 0; c < n; c++)
            memcpy (buf + c * len + (from - bl->r0),
                    slot->values + (gsize) (first + c) * slot->len
                    + (from - row0),
                    (gsize) (to - from) * sizeof (float));
          continue;
        }

      for (gint64 tile = from; tile < to; tile += GATHER_TILE)
        {
          gint64 tile_end = MIN (tile + GATHER_TILE, to);

          for (c = 0; c < n; c++)
            {
              guint ch = first + c;
              guint cols = self->layout.cols;
              const gint16 *src = slot->chunks[ch / cols].data
                                  + (gsize) (tile - row0) * cols + ch % cols;
              float *dst = buf + c * len + (tile - bl->r0);
              double gain = self->gain[ch];
              double offset = self->offset[ch];
              gint64 m = tile_end - tile;

              for (gint64 i = 0; i < m; i++)
                dst[i] = (float) (src[i * cols] * gain + offset);
            }
        }
    }
}

static gboolean
rows_ready_locked (ImpStream   *self,
                   const Block *bl)
{
  gint64 k;

  for (k = bl->k_lo; k <= bl->k_hi; k++)
    if (self->row_state[k] != ROW_READY)
      return FALSE;
  return TRUE;
}

/* The ready (block, group) with the earliest block, or FALSE. */
static gboolean
pick_job_locked (ImpStream *self,
                 guint     *group)
{
  guint best = G_MAXUINT, g;

  for (g = 0; g < self->n_groups; g++)
    {
      guint b = self->next_block[g];

      if (self->running[g] || b >= self->blocks->len || b >= best)
        continue;
      if (rows_ready_locked (self, &g_array_index (self->blocks, Block, b)))
        {
          best = b;
          *group = g;
        }
    }
  return best != G_MAXUINT;
}

static void
run_job (ImpStream *self,
         Worker    *w,
         guint      group)
{
  guint b = self->next_block[group];
  const Block *bl = &g_array_index (self->blocks, Block, b);
  ImpStreamBlock blk;

  gather (self, bl, group, w->buf);
  blk.group = group;
  blk.first_channel = group_first (self, group);
  blk.n_channels = group_count (self, group);
  blk.block = b;
  blk.sweep = bl->sweep;
  blk.t0 = bl->t0;
  blk.t1 = bl->t1;
  blk.r0 = bl->r0;
  blk.len = (gsize) (bl->r1 - bl->r0);
  blk.samples = w->buf;
  blk.worker = w->index;
  self->func (&blk, self->user_data);
}

static gpointer
worker_main (gpointer data)
{
  Worker *w = data;
  ImpStream *self = w->stream;

  g_mutex_lock (&self->lock);
  while (!self->stop && self->jobs_left > 0)
    {
      guint group;

      /* Stops before the next block, not only when the calling thread
       * looks. */
      if (g_cancellable_is_cancelled (self->cancellable))
        {
          self->stop = TRUE;
          break;
        }
      if (pick_job_locked (self, &group))
        {
          guint b = self->next_block[group];
          const Block *bl = &g_array_index (self->blocks, Block, b);

          self->running[group] = 1;
          g_mutex_unlock (&self->lock);
          run_job (self, w, group);
          g_mutex_lock (&self->lock);
          self->running[group] = 0;
          self->next_block[group] = next_wanted (self, group, b + 1);
          self->jobs_left--;
          self->work_done += (double) (bl->t1 - bl->t0)
                             * group_count (self, group);
          update_low_row_locked (self);
          g_cond_broadcast (&self->cond);
        }
      else if (!g_queue_is_empty (&self->decodes))
        {
          gsize task = GPOINTER_TO_SIZE (g_queue_pop_head (&self->decodes));
          gint64 row = (gint64) (task / self->n_units);
          guint unit = (guint) (task % self->n_units);
          GError *error = NULL;
          gboolean ok;

          g_mutex_unlock (&self->lock);
          ok = decode_chunk (self, w, row, unit, &error);
          g_mutex_lock (&self->lock);
          if (!ok)
            fail_locked (self, error);
          else
            row_done_locked (self, row);
        }
      else
        g_cond_wait (&self->cond, &self->lock);
    }
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);
  return NULL;
}

/**
 * imp_stream_run:
 * @self: a stream
 * @func: (scope call): run on a worker thread for every wanted block of
 *   every group
 * @user_data: for @func
 * @progress: (nullable) (scope call): the fraction of the work done,
 *   called from this thread every 50 ms or so
 * @progress_data: for @progress
 * @cancellable: (nullable): looked at every 50 ms; running blocks finish,
 *   no new one starts
 * @error: return location for a #GError
 *
 * Reads the recording once in storage order and calls @func on each
 * wanted block. Chunks that can be read raw (native files, uncompressed
 * or compressed with deflate and shuffle) are, and are decoded by the
 * workers; other recordings are read through imp_recording_read() by the
 * reader thread.
 *
 * Returns: %TRUE when every wanted block was delivered
 */
gboolean
imp_stream_run (ImpStream          *self,
                ImpStreamFunc       func,
                gpointer            user_data,
                ImpStreamProgress   progress,
                gpointer            progress_data,
                GCancellable       *cancellable,
                GError            **error)
{
  g_autoptr(GPtrArray) threads = g_ptr_array_new ();
  g_autofree Worker *workers = NULL;
  gint64 last_report = 0;
  gboolean cancelled = FALSE;
  guint b, g, i;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (func != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;

  plan_run (self);
  self->func = func;
  self->user_data = user_data;
  self->cancellable = cancellable;
  self->stop = FALSE;
  g_clear_error (&self->error);
  self->row_state = g_new0 (guint8, MAX (self->n_rows, 1));
  self->row_pending = g_new0 (guint, MAX (self->n_rows, 1));
  self->next_block = g_new (guint, MAX (self->n_groups, 1));
  self->running = g_new0 (guint8, MAX (self->n_groups, 1));
  self->jobs_left = 0;
  self->work_done = 0;
  self->work_total = 0;
  for (g = 0; g < self->n_groups; g++)
    {
      self->next_block[g] = next_wanted (self, g, 0);
      for (b = 0; b < self->blocks->len; b++)
        if (is_wanted (self, b, g))
          {
            const Block *bl = &g_array_index (self->blocks, Block, b);

            self->jobs_left++;
            self->work_total += (double) (bl->t1 - bl->t0)
                                * group_count (self, g);
          }
    }
  update_low_row_locked (self);
  if (self->jobs_left == 0)
    return TRUE;

  workers = g_new0 (Worker, self->n_workers);
  for (i = 0; i < self->n_workers; i++)
    {
      workers[i].stream = self;
      workers[i].index = i;
      workers[i].buf = g_new (float, (gsize) self->group_size
                                     * MAX (self->max_len, 1));
      workers[i].inflater = libdeflate_alloc_decompressor ();
      g_ptr_array_add (threads, g_thread_new ("imp-stream-worker",
                                              worker_main, &workers[i]));
    }
  g_ptr_array_add (threads, g_thread_new ("imp-stream-reader", reader_main,
                                          self));

  g_mutex_lock (&self->lock);
  while (!self->stop && self->jobs_left > 0)
    {
      gint64 now;

      g_cond_wait_until (&self->cond, &self->lock,
                         g_get_monotonic_time () + POLL_US);
      if (self->stop || g_cancellable_is_cancelled (cancellable))
        {
          cancelled = TRUE;
          self->stop = TRUE;
          g_cond_broadcast (&self->cond);
          break;
        }
      now = g_get_monotonic_time ();
      if (progress != NULL && now - last_report >= POLL_US)
        {
          double fraction = self->work_done / MAX (self->work_total, 1.0);

          last_report = now;
          g_mutex_unlock (&self->lock);
          progress (fraction, progress_data);
          g_mutex_lock (&self->lock);
        }
    }
  self->stop = TRUE;
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);

  for (i = 0; i < threads->len; i++)
    g_thread_join (g_ptr_array_index (threads, i));
  for (i = 0; i < self->n_workers; i++)
    {
      g_free (workers[i].buf);
      g_free (workers[i].scratch[0]);
      g_free (workers[i].scratch[1]);
      libdeflate_free_decompressor (workers[i].inflater);
    }

  if (self->error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&self->error));
      return FALSE;
    }
  if (cancelled || self->jobs_left > 0)
    {
      if (!g_cancellable_set_error_if_cancelled (cancellable, error))
        g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                             "Operation was cancelled");
      return FALSE;
    }
  if (progress != NULL)
    progress (1.0, progress_data);
  return TRUE;
}
