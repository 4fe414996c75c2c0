/* imp-array-layout.c
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <glib/gi18n.h>

#include "imp-array-layout.h"

/* How far from a whole number of pitches a position may be and still be
 * on the grid, in pitches. */
#define GRID_TOLERANCE 0.02

typedef struct
{
  double   x;
  double   y;
  gboolean placed;
  int      row;      /* from 0, or -1 off the grid */
  int      column;
} Cell;

struct _ImpArrayLayout
{
  Cell    *cells;
  guint    n;
  guint    n_placed;
  double   pitch;
  double   bounds[4];
  int     *table;     /* row * n_columns + column -> channel, or -1 */
  int      n_rows;
  int      n_columns;
};

typedef struct
{
  double x;
  double y;
} Point;

static int
compare_x (const void *a,
           const void *b)
{
  double xa = ((const Point *) a)->x;
  double xb = ((const Point *) b)->x;

  return (xa > xb) - (xa < xb);
}

/* The smallest distance between two distinct points, by a sweep along x
 * that stops comparing once x alone is farther than the best so far. */
static double
closest_distance (Point *points,
                  guint  n)
{
  double best = G_MAXDOUBLE;

  qsort (points, n, sizeof (Point), compare_x);
  for (guint i = 0; i < n; i++)
    for (guint j = i + 1; j < n && points[j].x - points[i].x < best; j++)
      {
        double d = hypot (points[j].x - points[i].x,
                          points[j].y - points[i].y);

        if (d > 0 && d < best)
          best = d;
      }

  return best;
}

static gboolean
usable_position (const ImpChannel *info)
{
  return info->has_position && isfinite (info->x_um) &&
         isfinite (info->y_um) && fabs (info->x_um) < 1e9 &&
         fabs (info->y_um) < 1e9;
}

/* Rows and columns of the placed cells, if they all sit on one square
 * grid of the pitch. */
static void
find_grid (ImpArrayLayout *self)
{
  double x0 = G_MAXDOUBLE;
  double y0 = G_MAXDOUBLE;

  for (guint i = 0; i < self->n; i++)
    if (self->cells[i].placed)
      {
        x0 = MIN (x0, self->cells[i].x);
        y0 = MIN (y0, self->cells[i].y);
      }

  for (guint i = 0; i < self->n; i++)
    {
      Cell *cell = &self->cells[i];
      double gx = (cell->x - x0) / self->pitch;
      double gy = (cell->y - y0) / self->pitch;

      if (!cell->placed)
        continue;
      if (fabs (gx - round (gx)) > GRID_TOLERANCE ||
          fabs (gy - round (gy)) > GRID_TOLERANCE)
        {
          for (guint k = 0; k < self->n; k++)
            self->cells[k].row = self->cells[k].column = -1;
          return;
        }
      cell->column = (int) round (gx);
      cell->row = (int) round (gy);
    }
}

/* A table from grid cell to channel, when every electrode is on the grid
 * and the grid is not mostly empty. */
static void
make_table (ImpArrayLayout *self)
{
  for (guint i = 0; i < self->n; i++)
    {
      if (self->cells[i].row < 0)
        return;
      self->n_rows = MAX (self->n_rows, self->cells[i].row + 1);
      self->n_columns = MAX (self->n_columns, self->cells[i].column + 1);
    }

  if ((gint64) self->n_rows * self->n_columns > 16 * (gint64) self->n + 16)
    return;

  self->table = g_new (int, MAX (self->n_rows * self->n_columns, 1));
  for (int k = 0; k < self->n_rows * self->n_columns; k++)
    self->table[k] = -1;
  for (guint i = 0; i < self->n; i++)
    self->table[self->cells[i].row * self->n_columns +
                self->cells[i].column] = (int) i;
}

/**
 * imp_array_layout_new:
 * @recording: a recording
 *
 * Returns: (transfer full): where its electrodes are
 */
ImpArrayLayout *
imp_array_layout_new (ImpRecording *recording)
{
  ImpArrayLayout *self = g_new0 (ImpArrayLayout, 1);
  g_autofree Point *points = NULL;
  double closest;
  double left = 0;
  double top = 0;
  guint side;
  guint k = 0;

  g_return_val_if_fail (recording != NULL, self);

  self->n = imp_recording_get_n_channels (recording);
  self->cells = g_new0 (Cell, MAX (self->n, 1));
  points = g_new (Point, MAX (self->n, 1));

  for (guint i = 0; i < self->n; i++)
    {
      const ImpChannel *info = imp_recording_get_channel (recording, i);
      Cell *cell = &self->cells[i];

      cell->row = cell->column = -1;
      if (!usable_position (info))
        continue;
      cell->placed = TRUE;
      cell->x = info->x_um;
      cell->y = info->y_um;
      points[self->n_placed].x = cell->x;
      points[self->n_placed].y = cell->y;
      self->n_placed++;
    }

  /* Positions that do not tell electrodes apart place nothing. */
  closest = closest_distance (points, self->n_placed);
  if (closest == G_MAXDOUBLE)
    {
      for (guint i = 0; i < self->n; i++)
        self->cells[i].placed = FALSE;
      self->n_placed = 0;
    }

  self->pitch = self->n_placed > 0 ? closest : 1.0;
  if (self->n_placed > 0)
    {
      double bottom = -G_MAXDOUBLE;

      left = G_MAXDOUBLE;
      for (guint i = 0; i < self->n; i++)
        if (self->cells[i].placed)
          {
            left = MIN (left, self->cells[i].x);
            bottom = MAX (bottom, self->cells[i].y);
          }
      top = bottom + 2 * self->pitch;
      find_grid (self);
    }

  /* The others on a square grid by index. */
  side = (guint) ceil (sqrt (self->n - self->n_placed));
  for (guint i = 0; i < self->n; i++)
    {
      Cell *cell = &self->cells[i];

      if (cell->placed)
        continue;
      cell->x = left + (k % side) * self->pitch;
      cell->y = top + (k / side) * self->pitch;
      if (self->n_placed == 0)
        {
          cell->row = k / side;
          cell->column = k % side;
        }
      k++;
    }

  make_table (self);

  self->bounds[0] = self->bounds[1] = G_MAXDOUBLE;
  self->bounds[2] = self->bounds[3] = -G_MAXDOUBLE;
  for (guint i = 0; i < self->n; i++)
    {
      self->bounds[0] = MIN (self->bounds[0], self->cells[i].x);
      self->bounds[1] = MIN (self->bounds[1], self->cells[i].y);
      self->bounds[2] = MAX (self->bounds[2], self->cells[i].x);
      self->bounds[3] = MAX (self->bounds[3], self->cells[i].y);
    }
  if (self->n == 0)
    memset (self->bounds, 0, sizeof self->bounds);
  self->bounds[0] -= self->pitch / 2;
  self->bounds[1] -= self->pitch / 2;
  self->bounds[2] += self->pitch / 2;
  self->bounds[3] += self->pitch / 2;

  return self;
}

/**
 * imp_array_layout_free:
 * @self: (nullable): a layout
 */
void
imp_array_layout_free (ImpArrayLayout *self)
{
  if (self == NULL)
    return;

  g_free (self->cells);
  g_free (self->table);
  g_free (self);
}

guint
imp_array_layout_get_n (ImpArrayLayout *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->n;
}

void
imp_array_layout_get_centre (ImpArrayLayout *self,
                             guint           channel,
                             double         *x,
                             double         *y)
{
  g_return_if_fail (self != NULL);
  g_return_if_fail (channel < self->n);

  *x = self->cells[channel].x;
  *y = self->cells[channel].y;
}

gboolean
imp_array_layout_is_placed (ImpArrayLayout *self,
                            guint           channel)
{
  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (channel < self->n, FALSE);

  return self->cells[channel].placed;
}

gboolean
imp_array_layout_is_fallback (ImpArrayLayout *self)
{
  g_return_val_if_fail (self != NULL, TRUE);

  return self->n_placed == 0;
}

double
imp_array_layout_get_pitch (ImpArrayLayout *self)
{
  g_return_val_if_fail (self != NULL, 1);

  return self->pitch;
}

void
imp_array_layout_get_bounds (ImpArrayLayout *self,
                             double         *x0,
                             double         *y0,
                             double         *x1,
                             double         *y1)
{
  g_return_if_fail (self != NULL);

  *x0 = self->bounds[0];
  *y0 = self->bounds[1];
  *x1 = self->bounds[2];
  *y1 = self->bounds[3];
}

gboolean
imp_array_layout_get_grid (ImpArrayLayout *self,
                           guint           channel,
                           guint          *row,
                           guint          *column)
{
  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (channel < self->n, FALSE);

  if (self->cells[channel].row < 0)
    return FALSE;

  *row = self->cells[channel].row + 1;
  *column = self->cells[channel].column + 1;
  return TRUE;
}

int
imp_array_layout_neighbour (ImpArrayLayout *self,
                            guint           channel,
                            int             columns,
                            int             rows)
{
  int row, column;

  g_return_val_if_fail (self != NULL, -2);
  g_return_val_if_fail (channel < self->n, -2);

  if (self->table == NULL)
    return -2;

  row = self->cells[channel].row + rows;
  column = self->cells[channel].column + columns;
  if (row < 0 || row >= self->n_rows || column < 0 ||
      column >= self->n_columns)
    return -1;
  return self->table[row * self->n_columns + column];
}

int
imp_array_layout_channel_at (ImpArrayLayout *self,
                             double          x,
                             double          y)
{
  double half;

  g_return_val_if_fail (self != NULL, -1);

  half = self->pitch / 2;
  for (guint i = 0; i < self->n; i++)
    if (x >= self->cells[i].x - half && x < self->cells[i].x + half &&
        y >= self->cells[i].y - half && y < self->cells[i].y + half)
      return (int) i;

  return -1;
}

char *
imp_array_layout_describe (ImpArrayLayout *self,
                           guint           channel)
{
  g_autofree char *x = NULL;
  g_autofree char *y = NULL;
  guint row, column;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (channel < self->n, NULL);

  if (imp_array_layout_get_grid (self, channel, &row, &column))
    return g_strdup_printf (_("row %u, col %u"), row, column);
  if (!self->cells[channel].placed)
    return g_strdup (_("no position"));

  x = g_strdup_printf ("%.4g", self->cells[channel].x);
  y = g_strdup_printf ("%.4g", self->cells[channel].y);
  return g_strdup_printf (_("x %s, y %s µm"), x, y);
}
