/* imp-trace-cache.c
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gio/gio.h>

#include "imp-detect.h"
#include "imp-pyramid.h"
#include "imp-trace-cache.h"

/* Past this many blocks (about 3 KiB each) besides the overview's, the
 * cache forgets other levels, then everything but the overview, then
 * all. */
#define MAX_BLOCKS       8192
/* Most channels read in one call. */
#define MAX_RUN          64
/* Floats in one read of the worker: one read holds the recording's lock,
 * and the main thread may be waiting for it. */
#define CHUNK_FLOATS     (1 << 18)
/* How often the worker hands over the columns it has finished. */
#define POST_INTERVAL_US 40000
/* How many finer levels a coarser block is combined from. */
#define DERIVE_DEPTH     4
/* The overview has between this many and twice as many columns. */
#define OVERVIEW_COLUMNS 4096
/* Samples (summed over channels) the overview reads at most; past it,
 * only some of its blocks, spread over the recording, are computed. */
#define OVERVIEW_MAX_SAMPLES (G_GINT64_CONSTANT (1) << 26)
/* The finest level whose columns a pyramid holds exactly. */
#define PYRAMID_LEVEL    6
G_STATIC_ASSERT ((1 << PYRAMID_LEVEL) == IMP_PYRAMID_BASE);
/* The share of overview columns left out at either end of a channel's
 * extent, so that a rare artefact does not set the scale. */
#define EXTENT_TAIL      0.002

typedef struct
{
  guint    n_cols;
  guint    n_exact;     /* columns [0, n_exact) hold their exact range */
  gboolean preview;     /* the others hold at least a preview */
  gboolean binned;      /* that preview is of the pyramid's bins */
  float    min[IMP_TRACE_CACHE_BLOCK];
  float    max[IMP_TRACE_CACHE_BLOCK];
  float    mid[IMP_TRACE_CACHE_BLOCK];   /* a sample from the middle */
} Block;

/* Work for the worker: exact columns [first_col, end of block) of block
 * @block at @level, for channels @first ... @first + @n_run - 1. */
typedef struct
{
  guint  first;
  guint  n_run;
  guint  level;
  gint64 block;
  guint  first_col;
} Unit;

/* Exact columns [first_col, end_col) of one channel's block, from the
 * worker. */
typedef struct
{
  guint  channel;
  guint  level;
  gint64 block;
  guint  n_cols;
  guint  first_col;
  guint  end_col;
  float  min[IMP_TRACE_CACHE_BLOCK];
  float  max[IMP_TRACE_CACHE_BLOCK];
  float  mid[IMP_TRACE_CACHE_BLOCK];
} Piece;

/* What the worker shares with the main thread. The worker reads
 * @recording and takes units from @queue; everything but @recording,
 * @cancellable and @cache is under @mutex. @cache is touched on the main
 * thread only, and cleared when the cache goes. */
typedef struct
{
  ImpRecording  *recording;
  GCancellable  *cancellable;

  GMutex         mutex;
  GArray        *queue;           /* Unit, most wanted first */
  Unit           current;
  gboolean       current_active;
  gboolean       current_wanted;
  gboolean       running;
  GPtrArray     *pieces;          /* Piece, not yet delivered */
  char          *error;
  gboolean       idle_pending;

  ImpTraceCache *cache;
} Job;

typedef struct
{
  gboolean valid;
  gint64   ready;       /* overview blocks [0, ready) were found exact */
  double   baseline;
  double   above;
  double   below;
} Extent;

struct _ImpTraceCache
{
  ImpRecording        *recording;
  GHashTable          *blocks;        /* block_key () -> Block */
  guint                level;
  GArray             **ap_samples;    /* per channel, sorted gint64 */
  guint                n_ap_channels;
  guint64              samples_read;
  guint64              bins_read;
  guint64              generation;      /* changes with what is held */

  /* columns of PYRAMID_LEVEL and coarser come from here, where built;
   * while it grows, the worker leaves them to it */
  ImpPyramid          *pyramid;
  gboolean             pyramid_growing;

  Job                 *job;
  ImpTraceCacheNotify  notify;
  gpointer             notify_data;
  char                *error;

  /* the last refine request, not made again while the worker is on it */
  GBytes              *refined;

  guint                overview_level;
  gint64               overview_stride; /* every how many blocks */
  guint                max_blocks;      /* MAX_BLOCKS and the overview's */
  Extent              *extents;         /* per channel */
};

static guint64
block_key (guint  channel,
           guint  level,
           gint64 block)
{
  return ((guint64) channel << 40) | ((guint64) level << 34) |
         (guint64) block;
}

static guint
key_level (guint64 key)
{
  return (key >> 34) & 0x3f;
}

static gint64
n_samples_of (ImpTraceCache *self)
{
  return imp_recording_get_n_samples (self->recording);
}

/* How many columns block @block of @level has: fewer for the last. */
static guint
block_n_cols (gint64 n_samples,
              guint  level,
              gint64 block)
{
  gint64 spc = G_GINT64_CONSTANT (1) << level;
  gint64 start = block * IMP_TRACE_CACHE_BLOCK * spc;

  if (block < 0 || start >= n_samples)
    return 0;

  return MIN (IMP_TRACE_CACHE_BLOCK, (n_samples - start + spc - 1) / spc);
}

static void
piece_free (gpointer data)
{
  g_free (data);
}

/* The worker */

static void
job_clear (gpointer data)
{
  Job *job = data;

  g_clear_pointer (&job->recording, imp_recording_unref);
  g_clear_object (&job->cancellable);
  g_clear_pointer (&job->queue, g_array_unref);
  g_clear_pointer (&job->pieces, g_ptr_array_unref);
  g_clear_pointer (&job->error, g_free);
  g_mutex_clear (&job->mutex);
}

static Job *
job_ref (Job *job)
{
  return g_atomic_rc_box_acquire (job);
}

static void
job_unref (Job *job)
{
  g_atomic_rc_box_release_full (job, job_clear);
}

static Job *
job_new (ImpRecording *recording)
{
  Job *job = g_atomic_rc_box_new0 (Job);

  job->recording = imp_recording_ref (recording);
  job->cancellable = g_cancellable_new ();
  g_mutex_init (&job->mutex);
  job->queue = g_array_new (FALSE, FALSE, sizeof (Unit));
  job->pieces = g_ptr_array_new_with_free_func (piece_free);

  return job;
}

static void merge_piece (ImpTraceCache *self,
                         const Piece   *piece);
static void store_preview (ImpTraceCache *self,
                           guint          channel,
                           gint64         block,
                           const float   *mins,
                           const float   *maxs,
                           const float   *mids);

/* Main thread: hands what the worker finished to the cache. */
static gboolean
deliver_idle_cb (gpointer data)
{
  Job *job = data;
  g_autoptr(GPtrArray) pieces = NULL;
  g_autofree char *error = NULL;
  ImpTraceCache *cache;

  g_mutex_lock (&job->mutex);
  pieces = g_steal_pointer (&job->pieces);
  job->pieces = g_ptr_array_new_with_free_func (piece_free);
  error = g_strdup (job->error);
  job->idle_pending = FALSE;
  g_mutex_unlock (&job->mutex);

  cache = job->cache;
  if (cache == NULL)
    return G_SOURCE_REMOVE;

  for (guint i = 0; i < pieces->len; i++)
    merge_piece (cache, g_ptr_array_index (pieces, i));

  if (error != NULL && cache->error == NULL)
    cache->error = g_steal_pointer (&error);

  if (cache->notify != NULL)
    cache->notify (cache->notify_data);

  return G_SOURCE_REMOVE;
}

/* With @job->mutex held. */
static void
schedule_delivery (Job *job)
{
  if (job->idle_pending)
    return;

  job->idle_pending = TRUE;
  g_idle_add_full (G_PRIORITY_DEFAULT_IDLE, deliver_idle_cb, job_ref (job),
                   (GDestroyNotify) job_unref);
}

static void
post_columns (Job         *job,
              const Unit  *unit,
              guint        n_cols,
              guint        first_col,
              guint        end_col,
              const float *mins,
              const float *maxs,
              const float *mids)
{
  gsize n = end_col - first_col;

  g_mutex_lock (&job->mutex);

  for (guint k = 0; k < unit->n_run; k++)
    {
      Piece *piece = g_new (Piece, 1);

      piece->channel = unit->first + k;
      piece->level = unit->level;
      piece->block = unit->block;
      piece->n_cols = n_cols;
      piece->first_col = first_col;
      piece->end_col = end_col;
      memcpy (piece->min + first_col,
              mins + k * IMP_TRACE_CACHE_BLOCK + first_col,
              n * sizeof (float));
      memcpy (piece->max + first_col,
              maxs + k * IMP_TRACE_CACHE_BLOCK + first_col,
              n * sizeof (float));
      memcpy (piece->mid + first_col,
              mids + k * IMP_TRACE_CACHE_BLOCK + first_col,
              n * sizeof (float));
      g_ptr_array_add (job->pieces, piece);
    }

  schedule_delivery (job);
  g_mutex_unlock (&job->mutex);
}

static gboolean
still_wanted (Job *job)
{
  gboolean wanted;

  if (g_cancellable_is_cancelled (job->cancellable))
    return FALSE;

  g_mutex_lock (&job->mutex);
  wanted = job->current_wanted;
  g_mutex_unlock (&job->mutex);

  return wanted;
}

/* Folds @n samples, which start @offset samples into a block, into the
 * ranges of their columns of 2^@level samples, and keeps the sample in the
 * middle of each column. NaNs are skipped. */
static void
accumulate (const float *values,
            gint64       n,
            gint64       offset,
            guint        level,
            float       *mins,
            float       *maxs,
            float       *mids)
{
  gint64 half = (G_GINT64_CONSTANT (1) << level) / 2;
  gint64 i = 0;

  while (i < n)
    {
      gint64 col = (offset + i) >> level;
      gint64 stop = MIN (n, ((col + 1) << level) - offset);
      gint64 middle = (col << level) + half - offset;
      float lo = mins[col];
      float hi = maxs[col];

      if (middle >= i && middle < stop)
        mids[col] = values[middle];

      for (; i < stop; i++)
        {
          float v = values[i];

          if (v < lo)
            lo = v;
          if (v > hi)
            hi = v;
        }

      mins[col] = lo;
      maxs[col] = hi;
    }
}

/* Computes @unit from full reads, a chunk at a time, handing over
 * finished columns every POST_INTERVAL_US, until the unit is done or no
 * longer wanted. */
static gboolean
compute_unit (Job         *job,
              const Unit  *unit,
              GError     **error)
{
  gint64 n_samples = imp_recording_get_n_samples (job->recording);
  gint64 spc = G_GINT64_CONSTANT (1) << unit->level;
  gint64 start = unit->block * IMP_TRACE_CACHE_BLOCK * spc;
  guint n_cols = block_n_cols (n_samples, unit->level, unit->block);
  gint64 end = MIN (start + n_cols * spc, n_samples);
  gint64 chunk = MAX (1024, CHUNK_FLOATS / unit->n_run);
  gint64 pos = start + (gint64) unit->first_col * spc;
  gint64 last_post = g_get_monotonic_time ();
  guint posted = unit->first_col;
  guint done = unit->first_col;
  g_autofree float *buffer = NULL;
  g_autofree float *mins = NULL;
  g_autofree float *maxs = NULL;
  g_autofree float *mids = NULL;

  g_assert (unit->n_run > 0 && unit->n_run <= MAX_RUN);

  if (pos >= end)
    return TRUE;

  buffer = g_new (float, unit->n_run * chunk);
  mins = g_new (float, unit->n_run * IMP_TRACE_CACHE_BLOCK);
  maxs = g_new (float, unit->n_run * IMP_TRACE_CACHE_BLOCK);
  mids = g_new (float, unit->n_run * IMP_TRACE_CACHE_BLOCK);
  for (guint i = 0; i < unit->n_run * IMP_TRACE_CACHE_BLOCK; i++)
    {
      mins[i] = INFINITY;
      maxs[i] = -INFINITY;
      mids[i] = NAN;
    }

  while (pos < end && still_wanted (job))
    {
      gint64 length = MIN (chunk, end - pos);
      gint64 now;

      if (!imp_recording_read (job->recording, unit->first, unit->n_run,
                               pos, length, buffer, error))
        return FALSE;

      for (guint k = 0; k < unit->n_run; k++)
        accumulate (buffer + k * length, length, pos - start, unit->level,
                    mins + k * IMP_TRACE_CACHE_BLOCK,
                    maxs + k * IMP_TRACE_CACHE_BLOCK,
                    mids + k * IMP_TRACE_CACHE_BLOCK);

      pos += length;
      done = pos >= end ? n_cols : (guint) ((pos - start) >> unit->level);

      now = g_get_monotonic_time ();
      if (done > posted && now - last_post >= POST_INTERVAL_US)
        {
          post_columns (job, unit, n_cols, posted, done, mins, maxs, mids);
          posted = done;
          last_post = now;
        }
    }

  if (done > posted)
    post_columns (job, unit, n_cols, posted, done, mins, maxs, mids);

  return TRUE;
}

static void
refine_worker (GTask        *task,
               gpointer      source_object,
               gpointer      task_data,
               GCancellable *cancellable)
{
  Job *job = task_data;

  for (;;)
    {
      g_autoptr(GError) error = NULL;
      Unit unit;

      g_mutex_lock (&job->mutex);
      job->current_active = FALSE;
      if (g_cancellable_is_cancelled (job->cancellable) ||
          job->queue->len == 0 || job->error != NULL)
        {
          job->running = FALSE;
          g_mutex_unlock (&job->mutex);
          break;
        }
      unit = g_array_index (job->queue, Unit, 0);
      g_array_remove_index (job->queue, 0);
      job->current = unit;
      job->current_active = TRUE;
      job->current_wanted = TRUE;
      g_mutex_unlock (&job->mutex);

      if (!compute_unit (job, &unit, &error))
        {
          g_mutex_lock (&job->mutex);
          job->error = g_strdup (error->message);
          schedule_delivery (job);
          g_mutex_unlock (&job->mutex);
        }
    }

  g_task_return_boolean (task, TRUE);
}

/* Main thread. The worker keeps the application running until it has
 * returned, so that quitting does not end the process under a read. */
static void
refine_done_cb (GObject      *source_object,
                GAsyncResult *result,
                gpointer      user_data)
{
  GApplication *app = user_data;

  if (app != NULL)
    {
      g_application_release (app);
      g_object_unref (app);
    }
}

static gboolean
same_unit (const Unit *a,
           const Unit *b)
{
  return a->first == b->first && a->n_run == b->n_run &&
         a->level == b->level && a->block == b->block;
}

/* Main thread: replaces what the worker is to do next, and starts it if
 * it is idle. The unit it is working on goes on if it is still wanted. */
static void
job_set_queue (Job    *job,
               GArray *units)
{
  gboolean start = FALSE;
  gboolean keep = FALSE;

  g_mutex_lock (&job->mutex);

  g_array_set_size (job->queue, 0);
  for (guint i = 0; i < units->len; i++)
    {
      const Unit *unit = &g_array_index (units, Unit, i);

      if (job->current_active && same_unit (unit, &job->current))
        keep = TRUE;
      else
        g_array_append_vals (job->queue, unit, 1);
    }
  if (job->current_active)
    job->current_wanted = keep;

  if (!job->running && job->queue->len > 0 && job->error == NULL &&
      !g_cancellable_is_cancelled (job->cancellable))
    job->running = start = TRUE;

  g_mutex_unlock (&job->mutex);

  if (start)
    {
      GApplication *app = g_application_get_default ();
      g_autoptr(GTask) task = NULL;

      if (app != NULL)
        g_application_hold (g_object_ref (app));
      task = g_task_new (NULL, NULL, refine_done_cb, app);
      g_task_set_source_tag (task, job_set_queue);
      g_task_set_task_data (task, job_ref (job), (GDestroyNotify) job_unref);
      g_task_run_in_thread (task, refine_worker);
    }
}

/* Whether the worker has units to do or results not yet delivered. */
static gboolean
job_busy (Job *job)
{
  gboolean busy;

  g_mutex_lock (&job->mutex);
  busy = job->running || job->pieces->len > 0 || job->idle_pending;
  g_mutex_unlock (&job->mutex);

  return busy;
}

static void
job_abandon (Job *job)
{
  job->cache = NULL;
  g_cancellable_cancel (job->cancellable);

  g_mutex_lock (&job->mutex);
  g_array_set_size (job->queue, 0);
  g_mutex_unlock (&job->mutex);

  job_unref (job);
}

/* The cache */

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
  gint64 n_samples;
  gint64 total;
  gint64 n_blocks;
  guint n_channels;

  g_return_val_if_fail (recording != NULL, NULL);

  self = g_new0 (ImpTraceCache, 1);
  self->recording = imp_recording_ref (recording);
  self->blocks = g_hash_table_new_full (g_int64_hash, g_int64_equal,
                                        g_free, g_free);
  self->job = job_new (recording);
  self->job->cache = self;

  n_samples = imp_recording_get_n_samples (recording);
  n_channels = imp_recording_get_n_channels (recording);
  self->extents = g_new0 (Extent, MAX (n_channels, 1));
  self->overview_level =
    imp_trace_cache_level_for ((double) n_samples / OVERVIEW_COLUMNS);

  n_blocks = (n_samples + (IMP_TRACE_CACHE_BLOCK << self->overview_level)
              - 1) / (IMP_TRACE_CACHE_BLOCK << self->overview_level);
  total = n_samples * n_channels;
  self->overview_stride = MAX (1, (total + OVERVIEW_MAX_SAMPLES - 1) /
                                  OVERVIEW_MAX_SAMPLES);
  self->overview_stride = MIN (self->overview_stride, MAX (n_blocks, 1));
  /* With thousands of channels the overview alone has more blocks than
   * MAX_BLOCKS: it must not push out the columns on screen. */
  self->max_blocks = MAX_BLOCKS +
                     (guint) MIN ((gint64) n_channels *
                                  ((n_blocks + self->overview_stride - 1) /
                                   self->overview_stride),
                                  G_MAXUINT / 2);

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
 *
 * Frees the cache and cancels its worker, whose results are dropped.
 */
void
imp_trace_cache_free (ImpTraceCache *self)
{
  if (self == NULL)
    return;

  job_abandon (g_steal_pointer (&self->job));
  g_clear_pointer (&self->pyramid, imp_pyramid_unref);
  g_clear_pointer (&self->refined, g_bytes_unref);
  clear_ap_samples (self);
  g_hash_table_unref (self->blocks);
  imp_recording_unref (self->recording);
  g_free (self->extents);
  g_free (self->error);
  g_free (self);
}

/**
 * imp_trace_cache_set_notify:
 * @self: a #ImpTraceCache
 * @notify: (nullable): called when exact columns arrive
 * @user_data: for @notify
 */
void
imp_trace_cache_set_notify (ImpTraceCache       *self,
                            ImpTraceCacheNotify  notify,
                            gpointer             user_data)
{
  g_return_if_fail (self != NULL);

  self->notify = notify;
  self->notify_data = user_data;
}

static gint
compare_gint64 (gconstpointer a,
                gconstpointer b)
{
  gint64 ia = *(const gint64 *) a;
  gint64 ib = *(const gint64 *) b;

  return (ia > ib) - (ia < ib);
}

/* Previews were read without the APs; exact columns stay. */
static gboolean
drop_preview_cb (gpointer key,
                 gpointer value,
                 gpointer user_data)
{
  Block *block = value;

  if (block->n_exact >= block->n_cols)
    return FALSE;

  block->preview = FALSE;
  block->binned = FALSE;
  return block->n_exact == 0;
}

/**
 * imp_trace_cache_set_result:
 * @self: a #ImpTraceCache
 * @result: (nullable): the analysis of the cache's recording
 *
 * Takes the action potentials of @result, to read previews of wide
 * columns around them. A result for a different channel count is
 * ignored. Previews read without them are dropped; exact columns stay.
 */
void
imp_trace_cache_set_result (ImpTraceCache     *self,
                            ImpAnalysisResult *result)
{
  guint n;

  g_return_if_fail (self != NULL);

  n = imp_recording_get_n_channels (self->recording);
  clear_ap_samples (self);
  g_hash_table_foreach_remove (self->blocks, drop_preview_cb, NULL);
  g_clear_pointer (&self->refined, g_bytes_unref);
  self->generation++;

  if (result == NULL || result->aps == NULL || result->n_channels != n)
    return;

  self->ap_samples = g_new0 (GArray *, n);
  self->n_ap_channels = n;

  for (guint c = 0; c < n; c++)
    {
      GArray *aps = result->aps[c];

      self->ap_samples[c] = g_array_new (FALSE, FALSE, sizeof (gint64));
      for (guint i = 0; aps != NULL && i < aps->len; i++)
        {
          gint64 t = g_array_index (aps, ImpEvent, i).sample;

          g_array_append_val (self->ap_samples[c], t);
        }
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
 * Changes the column width. What was read at other levels is kept, to be
 * shown again or combined into coarser columns.
 */
void
imp_trace_cache_set_level (ImpTraceCache *self,
                           guint          level)
{
  g_return_if_fail (self != NULL);
  g_return_if_fail (level <= 40);

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

  spc = G_GINT64_CONSTANT (1) << self->level;
  return (n_samples_of (self) + spc - 1) / spc;
}

/**
 * imp_trace_cache_clear:
 * @self: a #ImpTraceCache
 *
 * Forgets every column read, at every level.
 */
void
imp_trace_cache_clear (ImpTraceCache *self)
{
  g_return_if_fail (self != NULL);

  g_hash_table_remove_all (self->blocks);
  g_clear_pointer (&self->refined, g_bytes_unref);
  self->generation++;
}

static gboolean
other_level_cb (gpointer key,
                gpointer value,
                gpointer user_data)
{
  ImpTraceCache *self = user_data;
  guint level = key_level (*(guint64 *) key);

  return level != self->level && level != self->overview_level;
}

static gboolean
not_overview_cb (gpointer key,
                 gpointer value,
                 gpointer user_data)
{
  ImpTraceCache *self = user_data;

  return key_level (*(guint64 *) key) != self->overview_level;
}

static void
evict (ImpTraceCache *self)
{
  if (g_hash_table_size (self->blocks) <= self->max_blocks)
    return;

  self->generation++;
  g_hash_table_foreach_remove (self->blocks, other_level_cb, self);
  if (g_hash_table_size (self->blocks) > self->max_blocks)
    g_hash_table_foreach_remove (self->blocks, not_overview_cb, self);
  if (g_hash_table_size (self->blocks) > self->max_blocks)
    g_hash_table_remove_all (self->blocks);
}

static Block *
lookup_block (ImpTraceCache *self,
              guint          channel,
              guint          level,
              gint64         block)
{
  guint64 key = block_key (channel, level, block);

  return g_hash_table_lookup (self->blocks, &key);
}

static Block *
ensure_block (ImpTraceCache *self,
              guint          channel,
              guint          level,
              gint64         block)
{
  Block *found = lookup_block (self, channel, level, block);
  guint64 *key;

  if (found != NULL)
    return found;

  found = g_new0 (Block, 1);
  found->n_cols = block_n_cols (n_samples_of (self), level, block);
  self->generation++;
  key = g_new (guint64, 1);
  *key = block_key (channel, level, block);
  g_hash_table_insert (self->blocks, key, found);

  return found;
}

static gboolean
block_exact (const Block *block)
{
  return block != NULL && block->n_exact >= block->n_cols;
}

/* Exact columns extend the exact prefix of their block; a piece that
 * would leave a gap (the block was dropped meanwhile) is dropped too. */
static void
merge_piece (ImpTraceCache *self,
             const Piece   *piece)
{
  Block *block;
  gsize n;

  if (piece->channel >= imp_recording_get_n_channels (self->recording))
    return;

  block = ensure_block (self, piece->channel, piece->level, piece->block);
  if (block->n_cols != piece->n_cols ||
      piece->first_col > block->n_exact ||
      piece->end_col <= block->n_exact)
    return;

  n = piece->end_col - block->n_exact;
  memcpy (block->min + block->n_exact, piece->min + block->n_exact,
          n * sizeof (float));
  memcpy (block->max + block->n_exact, piece->max + block->n_exact,
          n * sizeof (float));
  memcpy (block->mid + block->n_exact, piece->mid + block->n_exact,
          n * sizeof (float));
  block->n_exact = piece->end_col;
  self->generation++;
}

/* Block @block of @level, exact, combined from exact blocks of finer
 * levels, without reading; or NULL. */
static Block *
derive_block (ImpTraceCache *self,
              guint          channel,
              guint          level,
              gint64         block,
              guint          depth)
{
  gint64 n_samples = n_samples_of (self);
  Block *found = lookup_block (self, channel, level, block);
  Block *children[2] = { NULL, NULL };
  guint n_cols;

  if (block_exact (found))
    return found;
  if (level == 0 || depth == 0)
    return NULL;

  n_cols = block_n_cols (n_samples, level, block);
  for (guint h = 0; h < 2; h++)
    {
      gint64 child = 2 * block + h;

      if (block_n_cols (n_samples, level - 1, child) == 0)
        continue;
      children[h] = derive_block (self, channel, level - 1, child,
                                  depth - 1);
      if (children[h] == NULL)
        return NULL;
    }

  found = ensure_block (self, channel, level, block);
  for (guint c = 0; c < n_cols; c++)
    {
      guint fine = 2 * c;
      Block *child = children[fine / IMP_TRACE_CACHE_BLOCK];
      guint i = fine % IMP_TRACE_CACHE_BLOCK;
      float lo = child->min[i];
      float hi = child->max[i];

      if (i + 1 < child->n_cols)
        {
          lo = MIN (lo, child->min[i + 1]);
          hi = MAX (hi, child->max[i + 1]);
        }

      found->min[c] = lo;
      found->max[c] = hi;
      found->mid[c] = i + 1 < child->n_cols ? child->mid[i + 1]
                                            : child->mid[i];
    }
  found->n_exact = n_cols;
  found->preview = TRUE;
  self->generation++;

  return found;
}

/* The pyramid */

/* How many of the @n_cols columns of @spc samples from @start lie wholly
 * within the pyramid's built samples. */
static guint
pyramid_columns (ImpTraceCache *self,
                 gint64         start,
                 gint64         spc,
                 guint          n_cols)
{
  gint64 n_samples = n_samples_of (self);
  gint64 built = imp_pyramid_get_built_samples (self->pyramid);

  if (built >= n_samples)
    return n_cols;
  if (built <= start)
    return 0;

  return (guint) MIN ((gint64) n_cols, (built - start) / spc);
}

/* Extends the exact columns of block @block of @level, PYRAMID_LEVEL or
 * coarser, from the pyramid as far as it is built, without reading the
 * recording. Returns TRUE if the block is now exact. */
static gboolean
fill_from_pyramid (ImpTraceCache *self,
                   guint          channel,
                   guint          level,
                   gint64         block)
{
  Block *found = lookup_block (self, channel, level, block);
  gint64 spc = G_GINT64_CONSTANT (1) << level;
  gint64 start = block * IMP_TRACE_CACHE_BLOCK * spc;
  float mins[IMP_TRACE_CACHE_BLOCK];
  float maxs[IMP_TRACE_CACHE_BLOCK];
  float means[IMP_TRACE_CACHE_BLOCK];
  guint n_cols, first, end, k;

  if (block_exact (found))
    return TRUE;
  if (self->pyramid == NULL || level < PYRAMID_LEVEL)
    return FALSE;

  n_cols = block_n_cols (n_samples_of (self), level, block);
  first = found != NULL ? found->n_exact : 0;
  end = pyramid_columns (self, start, spc, n_cols);
  if (end <= first)
    return FALSE;

  self->bins_read += imp_pyramid_query (self->pyramid, channel,
                                        start + first * spc, spc,
                                        end - first, mins, maxs, means);
  found = ensure_block (self, channel, level, block);
  for (k = 0; k < end - first; k++)
    {
      if (!(mins[k] <= maxs[k]))
        break;
      found->min[first + k] = mins[k];
      found->max[first + k] = maxs[k];
      found->mid[first + k] = means[k];
    }
  found->n_exact = first + k;
  self->generation++;

  return block_exact (found);
}

/* A preview of block @block at the current level, of columns narrower
 * than the pyramid's bins: each column gets the range of the bin that
 * holds it, so that no spike is missed, until the worker has the exact
 * range. FALSE when the pyramid does not cover the block yet. */
static gboolean
preview_from_pyramid (ImpTraceCache *self,
                      guint          channel,
                      gint64         block)
{
  gint64 spc = G_GINT64_CONSTANT (1) << self->level;
  gint64 start = block * IMP_TRACE_CACHE_BLOCK * spc;
  gint64 per_bin = IMP_PYRAMID_BASE / spc;
  float mins[IMP_TRACE_CACHE_BLOCK];
  float maxs[IMP_TRACE_CACHE_BLOCK];
  float mids[IMP_TRACE_CACHE_BLOCK];
  float bin_min[IMP_TRACE_CACHE_BLOCK];
  float bin_max[IMP_TRACE_CACHE_BLOCK];
  float bin_mean[IMP_TRACE_CACHE_BLOCK];
  guint n_cols, n_bins;

  Block *found = lookup_block (self, channel, self->level, block);

  if (self->pyramid == NULL || spc <= IMP_TRACE_CACHE_EXACT ||
      spc >= IMP_PYRAMID_BASE)
    return FALSE;
  if (found != NULL && (found->binned || block_exact (found)))
    return TRUE;

  n_cols = block_n_cols (n_samples_of (self), self->level, block);
  n_bins = (n_cols + per_bin - 1) / per_bin;
  if (pyramid_columns (self, start, IMP_PYRAMID_BASE, n_bins) < n_bins)
    return FALSE;

  self->bins_read += imp_pyramid_query (self->pyramid, channel, start,
                                        IMP_PYRAMID_BASE, n_bins, bin_min,
                                        bin_max, bin_mean);
  for (guint c = 0; c < n_cols; c++)
    {
      guint b = c / per_bin;

      if (!(bin_min[b] <= bin_max[b]))
        return FALSE;
      mins[c] = bin_min[b];
      maxs[c] = bin_max[b];
      mids[c] = bin_mean[b];
    }

  store_preview (self, channel, block, mins, maxs, mids);
  lookup_block (self, channel, self->level, block)->binned = TRUE;
  return TRUE;
}

/**
 * imp_trace_cache_set_pyramid:
 * @self: a #ImpTraceCache
 * @pyramid: (nullable): the recording's pyramid
 * @growing: whether it is being built
 *
 * Takes columns of IMP_PYRAMID_BASE samples and wider from @pyramid as
 * far as it is built, and previews of narrower ones. While it grows, the
 * worker does not read what it will bring; once it stops growing, the
 * worker reads what it lacks.
 */
void
imp_trace_cache_set_pyramid (ImpTraceCache *self,
                             ImpPyramid    *pyramid,
                             gboolean       growing)
{
  g_return_if_fail (self != NULL);

  if (pyramid != self->pyramid)
    {
      g_clear_pointer (&self->pyramid, imp_pyramid_unref);
      if (pyramid != NULL)
        self->pyramid = imp_pyramid_ref (pyramid);
      self->generation++;
    }
  if (self->pyramid_growing != (pyramid != NULL && growing))
    g_clear_pointer (&self->refined, g_bytes_unref);
  self->pyramid_growing = pyramid != NULL && growing;
}

/* Preview */

/* The first AP of @channel in [start, start + length), or -1. */
static gint64
find_ap (ImpTraceCache *self,
         guint          channel,
         gint64         start,
         gint64         length)
{
  GArray *aps;
  guint lo;

  if (channel >= self->n_ap_channels)
    return -1;

  aps = self->ap_samples[channel];
  lo = imp_detect_lower_bound ((const gint64 *) aps->data, aps->len, start);

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
  float lo = INFINITY;
  float hi = -INFINITY;

  for (gint64 i = 0; i < n; i++)
    {
      if (values[i] < lo)
        lo = values[i];
      if (values[i] > hi)
        hi = values[i];
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

/* Reads a preview of block @block of the adjacent channels @first ...
 * @first + @n_run - 1 into @mins and @maxs (n_run × BLOCK). Channels are
 * read together, since one read of several channels costs about as much
 * as a read of one. */
static gboolean
read_preview (ImpTraceCache  *self,
              guint           first,
              guint           n_run,
              gint64          block,
              float          *mins,
              float          *maxs,
              float          *mids,
              GError        **error)
{
  gint64 n_samples = n_samples_of (self);
  gint64 spc = G_GINT64_CONSTANT (1) << self->level;
  gint64 start = block * IMP_TRACE_CACHE_BLOCK * spc;
  gint64 n_cols = block_n_cols (n_samples, self->level, block);
  g_autofree float *buffer = NULL;
  g_autofree float *one = NULL;
  gint64 n_whole;
  gboolean strided;

  if (spc <= IMP_TRACE_CACHE_EXACT)
    {
      gint64 n = MIN (n_cols * spc, n_samples - start);

      buffer = g_new (float, n_run * n);
      if (!read_samples (self, first, n_run, start, n, buffer, error))
        return FALSE;

      for (guint k = 0; k < n_run; k++)
        for (gint64 c = 0; c < n_cols; c++)
          {
            gint64 length = MIN (spc, n - c * spc);

            min_max (buffer + k * n + c * spc, length,
                     &mins[k * IMP_TRACE_CACHE_BLOCK + c],
                     &maxs[k * IMP_TRACE_CACHE_BLOCK + c]);
            mids[k * IMP_TRACE_CACHE_BLOCK + c] =
              buffer[k * n + c * spc + length / 2];
          }
      return TRUE;
    }

  /* The middle IMP_TRACE_CACHE_STRIDE samples of every whole column, in
   * one strided read: far apart, they are read without the chunks that
   * hold them. */
  n_whole = MIN (n_cols, (n_samples - start) / spc);
  buffer = g_new (float, n_run * MAX (n_whole, 1) * IMP_TRACE_CACHE_STRIDE);
  strided = n_whole > 0;
  if (strided)
    {
      self->samples_read += (guint64) n_run * n_whole *
                            IMP_TRACE_CACHE_STRIDE;
      if (!imp_recording_read_strided (self->recording, first, n_run,
                                       start + (spc - IMP_TRACE_CACHE_STRIDE)
                                               / 2,
                                       spc, IMP_TRACE_CACHE_STRIDE, n_whole,
                                       buffer, error))
        return FALSE;
    }
  one = g_new (float, n_run * IMP_TRACE_CACHE_STRIDE);

  for (gint64 c = 0; c < n_cols; c++)
    {
      gint64 col = start + c * spc;
      gint64 length = MIN (spc, n_samples - col);
      gint64 width = MIN (IMP_TRACE_CACHE_STRIDE, length);

      if (c < n_whole)
        for (guint k = 0; k < n_run; k++)
          memcpy (one + k * width,
                  buffer + ((gsize) k * n_whole + c) * width,
                  width * sizeof (float));
      else if (!read_samples (self, first, n_run, col + (length - width) / 2,
                              width, one, error))
        return FALSE;

      for (guint k = 0; k < n_run; k++)
        {
          gint64 ap = find_ap (self, first + k, col, length);

          /* The typical sample is the middle one, not one of the AP's. */
          mids[k * IMP_TRACE_CACHE_BLOCK + c] = one[k * width + width / 2];
          if (ap >= 0)
            {
              gint64 pos = CLAMP (ap - width / 2, col, col + length - width);

              if (!read_samples (self, first + k, 1, pos, width,
                                 one + k * width, error))
                return FALSE;
            }

          min_max (one + k * width, width,
                   &mins[k * IMP_TRACE_CACHE_BLOCK + c],
                   &maxs[k * IMP_TRACE_CACHE_BLOCK + c]);
        }
    }

  return TRUE;
}

/* Whether block @block of @channel at the current level needs a preview
 * read: it has neither exact columns throughout nor a preview, and
 * cannot be combined from finer exact blocks. */
static gboolean
needs_preview (ImpTraceCache *self,
               guint          channel,
               gint64         block)
{
  Block *found = lookup_block (self, channel, self->level, block);

  if (found != NULL && (found->preview || block_exact (found)))
    return FALSE;

  return derive_block (self, channel, self->level, block,
                       DERIVE_DEPTH) == NULL;
}

static void
store_preview (ImpTraceCache *self,
               guint          channel,
               gint64         block,
               const float   *mins,
               const float   *maxs,
               const float   *mids)
{
  Block *found = ensure_block (self, channel, self->level, block);
  gint64 spc = G_GINT64_CONSTANT (1) << self->level;

  for (guint c = found->n_exact; c < found->n_cols; c++)
    {
      found->min[c] = mins[c];
      found->max[c] = maxs[c];
      found->mid[c] = mids[c];
    }
  found->preview = TRUE;
  if (spc <= IMP_TRACE_CACHE_EXACT)
    found->n_exact = found->n_cols;
  self->generation++;
}

static gint
compare_guint (gconstpointer a,
               gconstpointer b)
{
  guint ia = *(const guint *) a;
  guint ib = *(const guint *) b;

  return (ia > ib) - (ia < ib);
}

/* Reads previews of block @block of those of @channels that need one, in
 * runs of adjacent channels, until @deadline_us. */
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
  g_autofree float *mins = NULL;
  g_autofree float *maxs = NULL;
  g_autofree float *mids = NULL;
  guint i = 0;

  for (guint k = 0; k < n_channels; k++)
    {
      /* The pyramid's bins replace a preview of a few samples, which
       * can miss a spike. */
      if (fill_from_pyramid (self, channels[k], self->level, block) ||
          preview_from_pyramid (self, channels[k], block))
        continue;
      if (needs_preview (self, channels[k], block))
        g_array_append_val (missing, channels[k]);
    }
  if (missing->len == 0)
    return TRUE;
  g_array_sort (missing, compare_guint);

  mins = g_new (float, MAX_RUN * IMP_TRACE_CACHE_BLOCK);
  maxs = g_new (float, MAX_RUN * IMP_TRACE_CACHE_BLOCK);
  mids = g_new (float, MAX_RUN * IMP_TRACE_CACHE_BLOCK);

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

      if (!read_preview (self, first, n_run, block, mins, maxs, mids,
                         error))
        return FALSE;

      for (guint k = 0; k < n_run; k++)
        store_preview (self, first + k, block,
                       mins + k * IMP_TRACE_CACHE_BLOCK,
                       maxs + k * IMP_TRACE_CACHE_BLOCK,
                       mids + k * IMP_TRACE_CACHE_BLOCK);

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
 * @complete: (out): whether every column asked for now has a value
 * @error: return location for a #GError
 *
 * Gives the columns shown a value, exact or preview, until @deadline_us:
 * combined from finer exact columns where it can, otherwise read.
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

  evict (self);

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

/* Appends the units that make block @block of @level exact for those of
 * @channels (sorted) that are not yet, in runs of adjacent channels that
 * resume from the same column. */
static void
add_units (ImpTraceCache *self,
           GArray        *units,
           GHashTable    *queued,
           const guint   *channels,
           guint          n_channels,
           guint          level,
           gint64         block)
{
  Unit unit = { 0 };
  gboolean open = FALSE;

  for (guint k = 0; k < n_channels; k++)
    {
      guint64 key = block_key (channels[k], level, block);
      Block *found;
      guint first_col;

      /* The visible columns may be the overview's own. */
      if (g_hash_table_contains (queued, &key))
        continue;

      found = derive_block (self, channels[k], level, block, DERIVE_DEPTH);
      if (block_exact (found) ||
          fill_from_pyramid (self, channels[k], level, block))
        continue;
      /* What a growing pyramid will bring is not read twice. */
      if (level >= PYRAMID_LEVEL && self->pyramid_growing)
        continue;
      g_hash_table_add (queued, g_memdup2 (&key, sizeof key));

      found = lookup_block (self, channels[k], level, block);
      first_col = found != NULL ? found->n_exact : 0;

      if (open && channels[k] == unit.first + unit.n_run &&
          first_col == unit.first_col && unit.n_run < MAX_RUN)
        {
          unit.n_run++;
          continue;
        }

      if (open)
        g_array_append_val (units, unit);

      unit.first = channels[k];
      unit.n_run = 1;
      unit.level = level;
      unit.block = block;
      unit.first_col = first_col;
      open = TRUE;
    }

  if (open)
    g_array_append_val (units, unit);
}

/**
 * imp_trace_cache_refine:
 * @self: a #ImpTraceCache
 * @channels: (array length=n_channels): the channels shown
 * @n_channels: how many
 * @first_column: the first column shown, at the current level
 * @end_column: one past the last
 *
 * Has the worker compute the exact range of the columns shown, then the
 * overview of the whole recording, replacing what it was asked before.
 * Exact columns arrive through the notify function.
 */
void
imp_trace_cache_refine (ImpTraceCache *self,
                        const guint   *channels,
                        guint          n_channels,
                        gint64         first_column,
                        gint64         end_column)
{
  g_autoptr(GArray) units = g_array_new (FALSE, FALSE, sizeof (Unit));
  g_autoptr(GHashTable) queued = NULL;
  g_autoptr(GByteArray) request = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autofree guint *sorted = NULL;
  g_autofree guint *all = NULL;
  guint n_all;
  gint64 n_samples;

  g_return_if_fail (self != NULL);

  /* Making the queue means looking at every channel's overview: with
   * thousands of channels, not something to do every frame while the
   * worker is still on the same request. */
  request = g_byte_array_new ();
  g_byte_array_append (request, (const guint8 *) &self->level,
                       sizeof self->level);
  g_byte_array_append (request, (const guint8 *) &first_column,
                       sizeof first_column);
  g_byte_array_append (request, (const guint8 *) &end_column,
                       sizeof end_column);
  g_byte_array_append (request, (const guint8 *) channels,
                       n_channels * sizeof (guint));
  bytes = g_byte_array_free_to_bytes (g_steal_pointer (&request));
  if (self->refined != NULL && g_bytes_equal (bytes, self->refined) &&
      job_busy (self->job))
    return;
  g_clear_pointer (&self->refined, g_bytes_unref);
  self->refined = g_steal_pointer (&bytes);

  queued = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  n_all = imp_recording_get_n_channels (self->recording);
  n_samples = n_samples_of (self);
  first_column = MAX (first_column, 0);
  end_column = MIN (end_column, imp_trace_cache_get_n_columns (self));

  sorted = g_memdup2 (channels, MAX (n_channels, 1) * sizeof (guint));
  qsort (sorted, n_channels, sizeof (guint), compare_guint);
  for (gint64 b = first_column / IMP_TRACE_CACHE_BLOCK;
       end_column > first_column &&
       b <= (end_column - 1) / IMP_TRACE_CACHE_BLOCK;
       b++)
    add_units (self, units, queued, sorted, n_channels, self->level, b);

  all = g_new (guint, MAX (n_all, 1));
  for (guint c = 0; c < n_all; c++)
    all[c] = c;
  for (gint64 b = 0;
       block_n_cols (n_samples, self->overview_level, b) > 0;
       b += self->overview_stride)
    add_units (self, units, queued, all, n_all, self->overview_level, b);

  job_set_queue (self->job, units);
}

/**
 * imp_trace_cache_is_exact:
 * @self: a #ImpTraceCache
 * @channels: (array length=n_channels): channels
 * @n_channels: how many
 * @first_column: the first column, at the current level
 * @end_column: one past the last
 *
 * Returns: whether every column asked for holds its exact range
 */
gboolean
imp_trace_cache_is_exact (ImpTraceCache *self,
                          const guint   *channels,
                          guint          n_channels,
                          gint64         first_column,
                          gint64         end_column)
{
  g_return_val_if_fail (self != NULL, FALSE);

  first_column = MAX (first_column, 0);
  end_column = MIN (end_column, imp_trace_cache_get_n_columns (self));

  for (gint64 b = first_column / IMP_TRACE_CACHE_BLOCK;
       end_column > first_column &&
       b <= (end_column - 1) / IMP_TRACE_CACHE_BLOCK;
       b++)
    for (guint k = 0; k < n_channels; k++)
      {
        Block *found = lookup_block (self, channels[k], self->level, b);
        gint64 needed = MIN (end_column - b * IMP_TRACE_CACHE_BLOCK,
                             IMP_TRACE_CACHE_BLOCK);

        if (found == NULL || found->n_exact < MIN (needed, found->n_cols))
          return FALSE;
      }

  return TRUE;
}

/**
 * imp_trace_cache_get_column:
 * @self: a #ImpTraceCache
 * @channel: a channel
 * @column: a column at the current level
 * @min: (out): the least sample in it
 * @max: (out): the greatest
 * @exact: (out) (optional): whether these are exact or a preview
 *
 * Returns: %TRUE if the column has a value; not for a column of NaNs
 */
gboolean
imp_trace_cache_get_column (ImpTraceCache *self,
                            guint          channel,
                            gint64         column,
                            float         *min,
                            float         *max,
                            gboolean      *exact)
{
  Block *block;
  guint i;

  if (column < 0)
    return FALSE;

  block = lookup_block (self, channel, self->level,
                        column / IMP_TRACE_CACHE_BLOCK);
  i = column % IMP_TRACE_CACHE_BLOCK;
  if (block == NULL || i >= block->n_cols ||
      (i >= block->n_exact && !block->preview) ||
      !(block->min[i] <= block->max[i]))
    return FALSE;

  *min = block->min[i];
  *max = block->max[i];
  if (exact != NULL)
    *exact = i < block->n_exact;
  return TRUE;
}

/**
 * imp_trace_cache_get_columns:
 * @self: a #ImpTraceCache
 * @channel: a channel
 * @first: the first column, at the current level
 * @n: how many
 * @min: (out caller-allocates) (array length=n): each column's least
 *   sample, NaN where it has no value
 * @max: (out caller-allocates) (array length=n): its greatest
 * @mid: (out caller-allocates) (array length=n) (optional): a sample from
 *   its middle, NaN where it has none
 * @exact: (out caller-allocates) (array length=n) (optional): whether it
 *   holds its exact range rather than a preview
 *
 * imp_trace_cache_get_column() and imp_trace_cache_get_sample() for a run
 * of columns, with one look-up per block.
 *
 * Returns: how many of the columns have a value
 */
guint
imp_trace_cache_get_columns (ImpTraceCache *self,
                             guint          channel,
                             gint64         first,
                             guint          n,
                             float         *min,
                             float         *max,
                             float         *mid,
                             gboolean      *exact)
{
  guint found = 0;
  guint k = 0;

  g_return_val_if_fail (self != NULL, 0);
  g_return_val_if_fail (n == 0 || (min != NULL && max != NULL), 0);

  while (k < n)
    {
      gint64 column = first + k;
      gint64 b = column >= 0 ? column / IMP_TRACE_CACHE_BLOCK : -1;
      guint i = column >= 0 ? column % IMP_TRACE_CACHE_BLOCK : 0;
      guint run = column >= 0 ? MIN (n - k, IMP_TRACE_CACHE_BLOCK - i)
                              : (guint) MIN (n - k, -column);
      Block *block = b >= 0 ? lookup_block (self, channel, self->level, b)
                            : NULL;

      for (guint j = 0; j < run; j++, i++, k++)
        {
          gboolean have = block != NULL && i < block->n_cols &&
                          (i < block->n_exact || block->preview) &&
                          block->min[i] <= block->max[i];

          min[k] = have ? block->min[i] : NAN;
          max[k] = have ? block->max[i] : NAN;
          if (mid != NULL)
            mid[k] = have ? block->mid[i] : NAN;
          if (exact != NULL)
            exact[k] = have && i < block->n_exact;
          found += have;
        }
    }

  return found;
}

/**
 * imp_trace_cache_get_generation:
 * @self: a #ImpTraceCache
 *
 * Returns: a number that changes whenever a column's value may have
 *   changed, so that what was drawn from them can be kept until then
 */
guint64
imp_trace_cache_get_generation (ImpTraceCache *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->generation;
}

/* The @k-th smallest of @values (reordered; no NaN), as sorting would
 * give it, in linear time on average (Hoare's selection). */
static float
select_float (float *values,
              guint  n,
              guint  k)
{
  gint64 lo = 0;
  gint64 hi = (gint64) n - 1;

  g_assert (k < n);

  while (lo < hi)
    {
      float pivot = values[lo + (hi - lo) / 2];
      gint64 i = lo;
      gint64 j = hi;

      while (i <= j)
        {
          while (values[i] < pivot)
            i++;
          while (values[j] > pivot)
            j--;
          if (i <= j)
            {
              float t = values[i];

              values[i++] = values[j];
              values[j--] = t;
            }
        }

      /* [lo, j] <= pivot <= [i, hi], and between them the pivot. */
      if ((gint64) k <= j)
        hi = j;
      else if ((gint64) k >= i)
        lo = i;
      else
        break;
    }

  return values[k];
}

/**
 * imp_trace_cache_summarise:
 * @mids: (element-type float): a typical sample of each column
 * @mins: (element-type float) (nullable): each column's minimum
 * @maxs: (element-type float) (nullable): each column's maximum
 * @tail: the fraction of columns left out at either extreme
 * @baseline: (out): the (upper) median of @mids
 * @above: (out) (optional): how far the columns reach above @baseline
 * @below: (out) (optional): how far they reach below it
 *
 * The statistics a row's amplitude scale is fitted to. The arrays are
 * reordered in place. @above and @below need @mins and @maxs.
 *
 * Returns: %FALSE when there is nothing to summarise
 */
gboolean
imp_trace_cache_summarise (GArray *mids,
                           GArray *mins,
                           GArray *maxs,
                           double  tail,
                           double *baseline,
                           double *above,
                           double *below)
{
  guint skip;

  g_return_val_if_fail (mids != NULL && baseline != NULL, FALSE);

  if (mids->len == 0 || (above != NULL && (maxs == NULL || maxs->len == 0)))
    return FALSE;

  /* Order statistics by selection: the overviews of thousands of
   * channels are summarised at once. */
  *baseline = select_float ((float *) mids->data, mids->len, mids->len / 2);
  if (above == NULL || below == NULL)
    return TRUE;

  skip = (guint) (tail * maxs->len);
  *above = select_float ((float *) maxs->data, maxs->len,
                         maxs->len - 1 - skip) - *baseline;
  *below = *baseline - select_float ((float *) mins->data, mins->len,
                                     (guint) (tail * mins->len));
  return TRUE;
}

/**
 * imp_trace_cache_get_sample:
 * @self: a #ImpTraceCache
 * @channel: a channel
 * @column: a column at the current level
 * @value: (out): a sample from the middle of the column
 *
 * One sample of the column, for a baseline that the spikes within wide
 * columns do not shift, as the middle of their range would.
 *
 * Returns: %TRUE if the column has a value and its sample is a number
 */
gboolean
imp_trace_cache_get_sample (ImpTraceCache *self,
                            guint          channel,
                            gint64         column,
                            float         *value)
{
  Block *block;
  guint i;

  if (column < 0)
    return FALSE;

  block = lookup_block (self, channel, self->level,
                        column / IMP_TRACE_CACHE_BLOCK);
  i = column % IMP_TRACE_CACHE_BLOCK;
  if (block == NULL || i >= block->n_cols ||
      (i >= block->n_exact && !block->preview) || isnan (block->mid[i]))
    return FALSE;

  *value = block->mid[i];
  return TRUE;
}

/**
 * imp_trace_cache_get_extent:
 * @self: a #ImpTraceCache
 * @channel: a channel
 * @baseline: (out): the median of a sample from each overview column
 * @above: (out): how far the channel goes above it
 * @below: (out): how far below
 *
 * The channel's amplitude range over the whole recording (or, for a very
 * long one, over overview blocks spread across it), from its overview.
 * The 0.2 % most extreme columns at either end are left out, so that a
 * rare artefact does not set the range but frequent spikes do.
 *
 * Returns: %FALSE until the overview of @channel is exact
 */
gboolean
imp_trace_cache_get_extent (ImpTraceCache *self,
                            guint          channel,
                            double        *baseline,
                            double        *above,
                            double        *below)
{
  gint64 n_samples;
  g_autoptr(GArray) mids = NULL;
  g_autoptr(GArray) mins = NULL;
  g_autoptr(GArray) maxs = NULL;
  Extent *extent;

  g_return_val_if_fail (self != NULL, FALSE);

  if (channel >= imp_recording_get_n_channels (self->recording))
    return FALSE;

  extent = &self->extents[channel];
  n_samples = n_samples_of (self);

  /* Asked every frame for thousands of channels until the overview is
   * in: each time, only from the first block not found exact before. */
  while (!extent->valid &&
         block_n_cols (n_samples, self->overview_level, extent->ready) > 0)
    {
      if (!block_exact (lookup_block (self, channel, self->overview_level,
                                      extent->ready)))
        return FALSE;
      extent->ready += self->overview_stride;
    }

  if (!extent->valid)
    {
      mids = g_array_new (FALSE, FALSE, sizeof (float));
      mins = g_array_new (FALSE, FALSE, sizeof (float));
      maxs = g_array_new (FALSE, FALSE, sizeof (float));

      for (gint64 b = 0;
           block_n_cols (n_samples, self->overview_level, b) > 0;
           b += self->overview_stride)
        {
          Block *block = lookup_block (self, channel, self->overview_level,
                                       b);

          /* Dropped meanwhile. */
          if (!block_exact (block))
            {
              extent->ready = 0;
              return FALSE;
            }

          for (guint c = 0; c < block->n_cols; c++)
            {
              if (!(block->min[c] <= block->max[c]))
                continue;
              if (!isnan (block->mid[c]))
                g_array_append_val (mids, block->mid[c]);
              g_array_append_val (mins, block->min[c]);
              g_array_append_val (maxs, block->max[c]);
            }
        }

      extent->valid = TRUE;
      imp_trace_cache_summarise (mids, mins, maxs, EXTENT_TAIL,
                                 &extent->baseline, &extent->above,
                                 &extent->below);
    }

  *baseline = extent->baseline;
  *above = MAX (extent->above, 0);
  *below = MAX (extent->below, 0);
  return TRUE;
}

/**
 * imp_trace_cache_get_error:
 * @self: a #ImpTraceCache
 *
 * Returns: (nullable): why the worker stopped reading, or %NULL
 */
const char *
imp_trace_cache_get_error (ImpTraceCache *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->error;
}

/**
 * imp_trace_cache_get_bins_read:
 * @self: a #ImpTraceCache
 *
 * Returns: how many pyramid bins (summed over channels) were read
 */
guint64
imp_trace_cache_get_bins_read (ImpTraceCache *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->bins_read;
}

/**
 * imp_trace_cache_get_samples_read:
 * @self: a #ImpTraceCache
 *
 * Returns: how many samples (summed over channels) previews have read
 */
guint64
imp_trace_cache_get_samples_read (ImpTraceCache *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->samples_read;
}
