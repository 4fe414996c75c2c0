/* imp-conductance.c
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <math.h>

#include "imp-conductance.h"

struct _ImpConductance
{
  ImpAnalysisResult *result;
  guint              size;
  guint             *channels;   /* size: channel of each row and column */
  int               *index_of;   /* n_channels: row of each channel, or -1 */
  float             *g;          /* size × size, row-major */
  GHashTable        *pairs;      /* pre * n_channels + post -> candidate + 1 */
  GArray            *connections; /* Connection: the significant ones shown */
  GHashTable        *by_cell;     /* row * size + column -> connection + 1 */
  double             max_amplitude;
  guint              n_reciprocal;
};

typedef struct
{
  guint row;
  guint column;
  char  sign;
  float change;     /* added to its cross-point, taken from the mirror */
} Connection;

static gboolean
usable (ImpAnalysisResult  *result,
        const ImpCandidate *c)
{
  return c->pre < result->n_channels && c->post < result->n_channels;
}

static void
choose_channels (ImpConductance *self,
                 gboolean        connected_only)
{
  ImpAnalysisResult *result = self->result;
  g_autofree gboolean *used = g_new0 (gboolean, MAX (result->n_channels, 1));
  guint n_used = 0;

  for (guint i = 0; connected_only && i < result->candidates->len; i++)
    {
      const ImpCandidate *c = g_ptr_array_index (result->candidates, i);

      if (!c->significant || !usable (result, c))
        continue;
      n_used += !used[c->pre] + !used[c->post];
      used[c->pre] = used[c->post] = TRUE;
    }

  /* with nothing connected, show the whole (unchanged) array */
  if (n_used == 0)
    for (guint i = 0; i < result->n_channels; i++)
      used[i] = TRUE;

  self->channels = g_new (guint, MAX (result->n_channels, 1));
  self->index_of = g_new (int, MAX (result->n_channels, 1));
  for (guint i = 0; i < result->n_channels; i++)
    {
      self->index_of[i] = used[i] ? (int) self->size : -1;
      if (used[i])
        self->channels[self->size++] = i;
    }
}

/**
 * imp_conductance_new:
 * @result: an analysis result
 * @connected_only: keep only the channels in a significant connection
 *
 * Returns: (transfer full): the imprinted conductance matrix
 */
ImpConductance *
imp_conductance_new (ImpAnalysisResult *result,
                     gboolean           connected_only)
{
  ImpConductance *self;
  gsize cells;

  g_return_val_if_fail (result != NULL, NULL);
  g_return_val_if_fail (result->candidates != NULL, NULL);

  self = g_new0 (ImpConductance, 1);
  self->result = imp_analysis_result_ref (result);
  self->pairs = g_hash_table_new_full (g_int64_hash, g_int64_equal,
                                       g_free, NULL);
  self->connections = g_array_new (FALSE, FALSE, sizeof (Connection));
  self->by_cell = g_hash_table_new (NULL, NULL);
  choose_channels (self, connected_only);

  cells = (gsize) self->size * self->size;
  self->g = g_new (float, MAX (cells, 1));
  for (gsize i = 0; i < cells; i++)
    self->g[i] = IMP_CONDUCTANCE_BASELINE;

  for (guint i = 0; i < result->candidates->len; i++)
    {
      const ImpCandidate *c = g_ptr_array_index (result->candidates, i);

      if (c->significant && usable (result, c))
        self->max_amplitude = MAX (self->max_amplitude,
                                   fabs (c->amplitude_mv));
    }

  for (guint i = 0; i < result->candidates->len; i++)
    {
      const ImpCandidate *c = g_ptr_array_index (result->candidates, i);
      gint64 *key;
      int row, col;
      double change;
      Connection connection;

      if (!usable (result, c))
        continue;

      key = g_new (gint64, 1);
      *key = (gint64) c->pre * result->n_channels + c->post;
      if (!g_hash_table_contains (self->pairs, key))
        g_hash_table_insert (self->pairs, key, GUINT_TO_POINTER (i + 1));
      else
        g_free (key);

      row = self->index_of[c->pre];
      col = self->index_of[c->post];
      if (!c->significant || row < 0 || col < 0 || row == col
          || self->max_amplitude <= 0)
        continue;

      /* every connection moves its cross-points by at least a fifth of the
       * way (round one: it exists), the rest in proportion to |amplitude|
       * (round two: how strong) */
      change = 0.5 * (0.2 + 0.8 * fabs (c->amplitude_mv)
                                 / self->max_amplitude);
      self->g[(gsize) row * self->size + col] += change;
      self->g[(gsize) col * self->size + row] -= change;

      connection.row = row;
      connection.column = col;
      connection.sign = c->sign;
      connection.change = change;
      g_array_append_val (self->connections, connection);
      g_hash_table_insert (self->by_cell,
                           GUINT_TO_POINTER (row * self->size + col),
                           GUINT_TO_POINTER (self->connections->len));
    }

  for (guint i = 0; i < self->connections->len; i++)
    {
      const Connection *a = &g_array_index (self->connections, Connection, i);

      /* each reciprocal pair once, from its lower row */
      if (a->row < a->column
          && imp_conductance_get_change (self, a->column, a->row) > 0)
        self->n_reciprocal++;
    }

  for (gsize i = 0; i < cells; i++)
    self->g[i] = CLAMP (self->g[i], 0.0f, 1.0f);

  return self;
}

/**
 * imp_conductance_free:
 * @self: a matrix
 */
void
imp_conductance_free (ImpConductance *self)
{
  if (self == NULL)
    return;

  g_hash_table_unref (self->pairs);
  g_array_unref (self->connections);
  g_hash_table_unref (self->by_cell);
  g_free (self->channels);
  g_free (self->index_of);
  g_free (self->g);
  imp_analysis_result_unref (self->result);
  g_free (self);
}

/**
 * imp_conductance_get_size:
 * @self: a matrix
 *
 * Returns: the number of rows (and columns)
 */
guint
imp_conductance_get_size (ImpConductance *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->size;
}

/**
 * imp_conductance_get_channel:
 * @self: a matrix
 * @index: a row or column
 *
 * Returns: the recording channel driving that row and column
 */
guint
imp_conductance_get_channel (ImpConductance *self,
                             guint           index)
{
  g_return_val_if_fail (self != NULL, 0);
  g_return_val_if_fail (index < self->size, 0);

  return self->channels[index];
}

/**
 * imp_conductance_find_channel:
 * @self: a matrix
 * @channel: a recording channel
 *
 * Returns: the row (and column) of @channel, or -1 when not shown
 */
int
imp_conductance_find_channel (ImpConductance *self,
                              guint           channel)
{
  g_return_val_if_fail (self != NULL, -1);

  if (channel >= self->result->n_channels)
    return -1;
  return self->index_of[channel];
}

/**
 * imp_conductance_get:
 * @self: a matrix
 * @row: presynaptic row
 * @column: postsynaptic column
 *
 * Returns: G / Gmax of the cross-point, 0 to 1
 */
double
imp_conductance_get (ImpConductance *self,
                     guint           row,
                     guint           column)
{
  g_return_val_if_fail (self != NULL, IMP_CONDUCTANCE_BASELINE);
  g_return_val_if_fail (row < self->size && column < self->size,
                        IMP_CONDUCTANCE_BASELINE);

  return self->g[(gsize) row * self->size + column];
}

/**
 * imp_conductance_get_candidate:
 * @self: a matrix
 * @row: presynaptic row
 * @column: postsynaptic column
 *
 * Returns: the index of the candidate tested for that ordered pair,
 *   significant or not, or -1
 */
int
imp_conductance_get_candidate (ImpConductance *self,
                               guint           row,
                               guint           column)
{
  gint64 key;

  g_return_val_if_fail (self != NULL, -1);
  g_return_val_if_fail (row < self->size && column < self->size, -1);

  key = (gint64) self->channels[row] * self->result->n_channels
        + self->channels[column];
  return (int) GPOINTER_TO_UINT (g_hash_table_lookup (self->pairs, &key)) - 1;
}

/**
 * imp_conductance_get_max_amplitude:
 * @self: a matrix
 *
 * Returns: the |amplitude| (mV) that gives full potentiation
 */
double
imp_conductance_get_max_amplitude (ImpConductance *self)
{
  g_return_val_if_fail (self != NULL, 0.0);

  return self->max_amplitude;
}

/**
 * imp_conductance_get_n_connections:
 * @self: a matrix
 *
 * Returns: the number of significant connections between shown channels
 */
guint
imp_conductance_get_n_connections (ImpConductance *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->connections->len;
}

/**
 * imp_conductance_get_connection:
 * @self: a matrix
 * @index: a connection, below imp_conductance_get_n_connections()
 * @row: (out): its presynaptic row
 * @column: (out): its postsynaptic column
 * @sign: (out): 'E' or 'I'
 */
void
imp_conductance_get_connection (ImpConductance *self,
                                guint           index,
                                guint          *row,
                                guint          *column,
                                char           *sign)
{
  const Connection *c;

  g_return_if_fail (self != NULL);
  g_return_if_fail (index < self->connections->len);

  c = &g_array_index (self->connections, Connection, index);
  *row = c->row;
  *column = c->column;
  *sign = c->sign;
}

/**
 * imp_conductance_get_change:
 * @self: a matrix
 * @row: presynaptic row
 * @column: postsynaptic column
 *
 * Returns: how much the significant connection from @row to @column raises
 *   its cross-point (and lowers the mirror), or 0 without one
 */
double
imp_conductance_get_change (ImpConductance *self,
                            guint           row,
                            guint           column)
{
  guint index;

  g_return_val_if_fail (self != NULL, 0.0);
  g_return_val_if_fail (row < self->size && column < self->size, 0.0);

  index = GPOINTER_TO_UINT (g_hash_table_lookup (self->by_cell,
                                                 GUINT_TO_POINTER
                                                   (row * self->size
                                                    + column)));
  if (index == 0)
    return 0.0;
  return g_array_index (self->connections, Connection, index - 1).change;
}

/**
 * imp_conductance_get_n_reciprocal:
 * @self: a matrix
 *
 * Returns: the number of reciprocal pairs among the connections, each
 *   counted once
 */
guint
imp_conductance_get_n_reciprocal (ImpConductance *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->n_reciprocal;
}
