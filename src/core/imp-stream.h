/* imp-stream.h
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

#include "imp-recording.h"

G_BEGIN_DECLS

/* Reads a recording once, in the order its samples are stored, and hands
 * it out in blocks of time × groups of channels to worker threads.
 *
 * Time is cut into blocks as the analysis needs them: within each sweep,
 * blocks of a given length (a remainder shorter than half a block joins
 * the last one), each read with some padding on either side inside its
 * sweep. Channels are cut into groups of neighbours. One reader thread
 * reads rows of chunks (all channels over a stretch of time) into a ring
 * of a few rows; worker threads decompress the chunks and run a function
 * on each (block, group) once the rows it needs are in. Memory holds the
 * ring, whatever the recording's duration. See docs/performance.md. */

typedef struct
{
  guint         group;          /* index of the channel group */
  guint         first_channel;
  guint         n_channels;
  guint         block;          /* index of the time block */
  guint         sweep;
  gint64        t0;             /* the block: recording samples [t0, t1) */
  gint64        t1;
  gint64        r0;             /* recording index of samples[c * len] */
  gsize         len;            /* samples per channel, r0 .. r0 + len */
  const float  *samples;        /* n_channels × len floats, channel-major,
                                   in each channel's unit (as
                                   imp_recording_read() gives them) */
  guint         worker;         /* the worker running it, < n_workers */
} ImpStreamBlock;

/* Runs on a worker thread. The blocks of one group come in time order and
 * never two at once; blocks of different groups may run concurrently. */
typedef void (*ImpStreamFunc)     (const ImpStreamBlock *block,
                                   gpointer              user_data);

/* Runs on the thread that called imp_stream_run(). */
typedef void (*ImpStreamProgress) (double                fraction,
                                   gpointer              user_data);

typedef struct
{
  gboolean  direct;          /* chunks read raw and decoded by the workers */
  guint     n_workers;
  guint64   chunks_read;     /* chunks (or, without direct reading, group
                                rows) read */
  guint64   bytes_read;      /* as stored: compressed where compressed */
  guint64   buffer_bytes;    /* the ring and the workers' buffers */
} ImpStreamStats;

typedef struct _ImpStream ImpStream;

ImpStream *imp_stream_new            (ImpRecording       *recording,
                                      gint64              block_samples,
                                      gint64              pad_before,
                                      gint64              pad_after);
void       imp_stream_free           (ImpStream          *self);

void       imp_stream_set_direct     (ImpStream          *self,
                                      gboolean            direct);
void       imp_stream_set_n_workers  (ImpStream          *self,
                                      guint               n_workers);

guint      imp_stream_get_n_blocks   (ImpStream          *self);
void       imp_stream_get_block      (ImpStream          *self,
                                      guint               block,
                                      gint64             *t0,
                                      gint64             *t1);
guint      imp_stream_block_at       (ImpStream          *self,
                                      gint64              sample);
guint      imp_stream_get_n_groups   (ImpStream          *self);
guint      imp_stream_group_of       (ImpStream          *self,
                                      guint               channel);
guint      imp_stream_get_n_workers  (ImpStream          *self);

void       imp_stream_want           (ImpStream          *self,
                                      guint               block,
                                      guint               group);

gboolean   imp_stream_run            (ImpStream          *self,
                                      ImpStreamFunc       func,
                                      gpointer            user_data,
                                      ImpStreamProgress   progress,
                                      gpointer            progress_data,
                                      GCancellable       *cancellable,
                                      GError            **error);

void       imp_stream_get_stats      (ImpStream          *self,
                                      ImpStreamStats     *stats);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ImpStream, imp_stream_free)

G_END_DECLS
