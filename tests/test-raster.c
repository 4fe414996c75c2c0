/* test-raster.c
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <math.h>
#include <string.h>

#include "imp-raster.h"

#define WIDTH  96
#define HEIGHT 64

typedef struct
{
  ImpRasterImage image;
  guint32        storage[WIDTH * HEIGHT];
} Canvas;

static void
canvas_init (Canvas *canvas)
{
  memset (canvas->storage, 0, sizeof canvas->storage);
  canvas->image.pixels = canvas->storage;
  canvas->image.width = WIDTH;
  canvas->image.height = HEIGHT;
  canvas->image.stride = WIDTH;
}

static guint
alpha_at (const Canvas *canvas,
          int           x,
          int           y)
{
  return canvas->storage[y * WIDTH + x] >> 24;
}

static gboolean
valid (const ImpRasterTrace *trace,
       gint64                c)
{
  return c >= 0 && c < trace->n_columns && isfinite (trace->min[c]) &&
         isfinite (trace->max[c]) && trace->min[c] <= trace->max[c];
}

/* Widens [*top, *bottom] to the y of the column @c's values. */
static void
reach (const ImpRasterTrace *trace,
       double                value,
       double               *top,
       double               *bottom)
{
  double y = trace->offset - value * trace->scale;

  *top = MIN (*top, y);
  *bottom = MAX (*bottom, y);
}

/* The trace's envelope over [px, px + 1], the slow way: at every column
 * inside the interval, and at 4096 points along it on the straight lines
 * between neighbouring columns. */
static gboolean
brute_envelope (const ImpRasterTrace *trace,
                int                   px,
                double               *top,
                double               *bottom)
{
  *top = INFINITY;
  *bottom = -INFINITY;

  for (gint64 c = 0; c < trace->n_columns; c++)
    {
      double x = trace->x0 + c * trace->dx;

      if (valid (trace, c) && x >= px && x <= px + 1)
        {
          reach (trace, trace->min[c], top, bottom);
          reach (trace, trace->max[c], top, bottom);
        }
    }

  for (int k = 0; k <= 4096; k++)
    {
      double x = px + k / 4096.0;
      double t = (x - trace->x0) / trace->dx;
      double c = floor (t);
      double f = t - c;

      if (f == 0 || !valid (trace, (gint64) c) ||
          !valid (trace, (gint64) c + 1))
        continue;

      reach (trace, (1 - f) * trace->min[(gint64) c] +
                    f * trace->min[(gint64) c + 1], top, bottom);
      reach (trace, (1 - f) * trace->max[(gint64) c] +
                    f * trace->max[(gint64) c + 1], top, bottom);
    }

  return *top <= *bottom;
}

/* Every pixel against the brute-force envelope: inside the clip
 * rectangle, the part of each pixel that the widened envelope covers;
 * outside it, nothing. */
static void
check_against_brute_force (const Canvas         *canvas,
                           const ImpRasterTrace *trace)
{
  guint drawn = 0;

  for (int px = 0; px < WIDTH; px++)
    {
      double top, bottom;
      gboolean any = brute_envelope (trace, px, &top, &bottom);
      gboolean inside_x = px >= trace->clip_left && px < trace->clip_right;

      top -= trace->line_width / 2;
      bottom += trace->line_width / 2;

      for (int y = 0; y < HEIGHT; y++)
        {
          double expected = 0;
          guint alpha = alpha_at (canvas, px, y);

          if (any && inside_x && y >= trace->clip_top &&
              y < trace->clip_bottom)
            expected = MAX (0, MIN (y + 1, bottom) - MAX (y, top));

          if (fabs (alpha - expected * 255) > 1.01)
            g_error ("pixel (%d, %d): alpha %u, expected %.2f (span %g "
                     "to %g)", px, y, alpha, expected * 255, top, bottom);
          drawn += alpha > 0;
        }
    }

  g_assert_cmpuint (drawn, >, 0);
}

static void
random_trace (GRand          *rand,
              ImpRasterTrace *trace,
              float          *mins,
              float          *maxs,
              guint           n)
{
  double level = g_rand_double_range (rand, -5, 5);

  for (guint c = 0; c < n; c++)
    {
      double a, b;

      level += g_rand_double_range (rand, -3, 3);
      a = level + g_rand_double_range (rand, -2, 2);
      b = a + (g_rand_int_range (rand, 0, 4) == 0
               ? 0 : g_rand_double_range (rand, 0, 6));
      mins[c] = a;
      maxs[c] = b;
      /* Gaps of one and of several columns. */
      if (g_rand_int_range (rand, 0, 23) == 0)
        mins[c] = NAN;
      if (g_rand_int_range (rand, 0, 31) == 0)
        maxs[c] = INFINITY;
    }

  memset (trace, 0, sizeof *trace);
  trace->min = mins;
  trace->max = maxs;
  trace->n_columns = n;
  trace->offset = HEIGHT / 2.0 + g_rand_double_range (rand, -4, 4);
  trace->scale = g_rand_double_range (rand, 0.5, 3);
  trace->line_width = g_rand_double_range (rand, 0, 2);
  trace->color = 0xffffffff;
}

/* Columns half a pixel to many pixels wide, starting anywhere, with gaps
 * and clipping, against the brute force. */
static void
test_brute_force (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (7);
  static const double widths[] = { 0.37, 0.5, 0.75, 1, 1.7, 4, 16.3 };

  for (guint trial = 0; trial < 70; trial++)
    {
      double dx = widths[trial % G_N_ELEMENTS (widths)];
      guint n = (guint) ceil (WIDTH / dx) + 4;
      g_autofree float *mins = g_new (float, n);
      g_autofree float *maxs = g_new (float, n);
      ImpRasterTrace trace;
      Canvas canvas;

      canvas_init (&canvas);
      random_trace (rand, &trace, mins, maxs, n);
      trace.dx = dx;
      /* Sometimes a column exactly on a pixel edge. */
      trace.x0 = trial % 3 == 0 ? -2 : g_rand_double_range (rand, -3, 2);
      trace.clip_left = g_rand_int_range (rand, -5, 20);
      trace.clip_right = g_rand_int_range (rand, WIDTH - 20, WIDTH + 5);
      trace.clip_top = g_rand_int_range (rand, -5, 20);
      trace.clip_bottom = g_rand_int_range (rand, HEIGHT - 20, HEIGHT + 5);

      imp_raster_draw_trace (&canvas.image, &trace);
      check_against_brute_force (&canvas, &trace);
    }
}

/* One sample far above the noise, in a column of 64 samples whose centre
 * lies between two pixel columns: its pixel column reaches the sample's
 * height, however narrow the spike. */
static void
test_spike (void)
{
  enum { N = 64 * 200, SPC = 64, SPIKE = 64 * 57 + 13 };
  g_autofree float *samples = g_new (float, N);
  float mins[N / SPC];
  float maxs[N / SPC];
  ImpRasterTrace trace = { 0 };
  Canvas canvas;
  double y_spike, y_noise;
  int px;

  for (guint i = 0; i < N; i++)
    samples[i] = 0.2f * sinf (i * 0.7f);
  samples[SPIKE] = 20;

  /* The columns' ranges, as a cache would give them. */
  for (guint c = 0; c < N / SPC; c++)
    {
      mins[c] = INFINITY;
      maxs[c] = -INFINITY;
      for (guint i = c * SPC; i < (c + 1) * SPC; i++)
        {
          mins[c] = MIN (mins[c], samples[i]);
          maxs[c] = MAX (maxs[c], samples[i]);
        }
    }

  canvas_init (&canvas);
  trace.min = mins;
  trace.max = maxs;
  trace.n_columns = N / SPC;
  trace.x0 = 0.5 * 0.45;        /* column 57 at 25.875 */
  trace.dx = 0.45;
  trace.offset = 50;
  trace.scale = 2;
  trace.line_width = 1;
  trace.clip_right = WIDTH;
  trace.clip_bottom = HEIGHT;
  trace.color = imp_raster_color (0, 0, 0, 1);
  imp_raster_draw_trace (&canvas.image, &trace);

  px = (int) floor (trace.x0 + (SPIKE / SPC) * trace.dx);
  y_spike = trace.offset - 20 * trace.scale;
  y_noise = trace.offset - 0.2 * trace.scale;
  g_assert_cmpint (px, ==, 25);
  /* y = 10, and half a line width above it. */
  g_assert_cmpfloat (y_spike, ==, 10);
  g_assert_cmpuint (alpha_at (&canvas, px, 10), ==, 255);
  g_assert_cmpuint (alpha_at (&canvas, px, 9), >=, 127);
  g_assert_cmpuint (alpha_at (&canvas, px, 9), <=, 128);
  g_assert_cmpuint (alpha_at (&canvas, px, 8), ==, 0);
  /* Away from the spike, only the noise. */
  g_assert_cmpuint (alpha_at (&canvas, px - 4, (int) floor (y_spike)), ==,
                    0);
  g_assert_cmpuint (alpha_at (&canvas, px - 4, (int) floor (y_noise)), >,
                    0);
}

/* A column wider than many pixels: the pixels between two columns are a
 * continuous line, with no vertical gap between neighbouring pixel
 * columns, even where it is steep. */
static void
test_continuous (void)
{
  float values[] = { 0, 25, -10, 5, 5 };
  ImpRasterTrace trace = { 0 };
  Canvas canvas;
  int last_top = -1, last_bottom = -1;

  canvas_init (&canvas);
  trace.min = values;
  trace.max = values;
  trace.n_columns = G_N_ELEMENTS (values);
  trace.x0 = 3;
  trace.dx = 20;
  trace.offset = 40;
  trace.scale = 1;
  trace.line_width = 1;
  trace.clip_right = WIDTH;
  trace.clip_bottom = HEIGHT;
  trace.color = 0xff000000;
  imp_raster_draw_trace (&canvas.image, &trace);

  for (int px = 3; px < 83; px++)
    {
      int top = -1, bottom = -1;

      for (int y = 0; y < HEIGHT; y++)
        if (alpha_at (&canvas, px, y) > 0)
          {
            if (top < 0)
              top = y;
            bottom = y;
          }

      g_assert_cmpint (top, >=, 0);
      if (last_top >= 0)
        {
          /* The spans of neighbouring pixel columns overlap. */
          g_assert_cmpint (top, <=, last_bottom);
          g_assert_cmpint (bottom, >=, last_top);
        }
      last_top = top;
      last_bottom = bottom;
    }

  /* Nothing before the first column or after the last. */
  for (int y = 0; y < HEIGHT; y++)
    {
      g_assert_cmpuint (alpha_at (&canvas, 1, y), ==, 0);
      g_assert_cmpuint (alpha_at (&canvas, 84, y), ==, 0);
    }
}

/* Columns of NaN are gaps, not zeros nor lines across. */
static void
test_gaps (void)
{
  float values[] = { 1, 1, NAN, NAN, NAN, 1, 1 };
  ImpRasterTrace trace = { 0 };
  Canvas canvas;

  canvas_init (&canvas);
  trace.min = values;
  trace.max = values;
  trace.n_columns = G_N_ELEMENTS (values);
  trace.x0 = 0.5;
  trace.dx = 10;
  trace.offset = 30.5;   /* y = 29.5: row 29 wholly covered */
  trace.scale = 1;
  trace.line_width = 1;
  trace.clip_right = WIDTH;
  trace.clip_bottom = HEIGHT;
  trace.color = 0xffffffff;
  imp_raster_draw_trace (&canvas.image, &trace);

  g_assert_cmpuint (alpha_at (&canvas, 5, 29), ==, 255);
  g_assert_cmpuint (alpha_at (&canvas, 10, 29), ==, 255);
  for (int px = 11; px < 50; px++)
    for (int y = 0; y < HEIGHT; y++)
      g_assert_cmpuint (alpha_at (&canvas, px, y), ==, 0);
  g_assert_cmpuint (alpha_at (&canvas, 50, 29), ==, 255);
}

/* Half-transparent colour over an opaque background, half covered:
 * the premultiplied "over" operator, channel by channel. */
static void
test_blend (void)
{
  float values[] = { 10.5, 10.5 };
  ImpRasterTrace trace = { 0 };
  Canvas canvas;
  guint32 background = imp_raster_color (0.2, 0.4, 0.6, 1);
  guint32 pixel;
  double a;

  canvas_init (&canvas);
  imp_raster_clear (&canvas.image, background);
  trace.min = values;
  trace.max = values;
  trace.n_columns = 2;
  trace.x0 = 0;
  trace.dx = 50;
  trace.offset = 0;
  trace.scale = -1;   /* y = value */
  trace.line_width = 1;
  trace.clip_right = WIDTH;
  trace.clip_bottom = HEIGHT;
  trace.color = imp_raster_color (1, 0, 0, 0.5);
  g_assert_cmphex (trace.color, ==, 0x80800000);
  imp_raster_draw_trace (&canvas.image, &trace);

  /* [10, 11) covered completely, 9 and 11 not at all. */
  pixel = canvas.storage[10 * WIDTH + 20];
  a = 128 / 255.0;
  g_assert_cmpuint (pixel >> 24, ==, 255);
  g_assert_cmpfloat (fabs (((pixel >> 16) & 0xff) -
                           (128 + 0.2 * 255 * (1 - a))), <=, 1);
  g_assert_cmpfloat (fabs (((pixel >> 8) & 0xff) - 0.4 * 255 * (1 - a)),
                     <=, 1);
  g_assert_cmpfloat (fabs ((pixel & 0xff) - 0.6 * 255 * (1 - a)), <=, 1);
  g_assert_cmphex (canvas.storage[9 * WIDTH + 20], ==, background);
  g_assert_cmphex (canvas.storage[11 * WIDTH + 20], ==, background);
}

/* A trace far beyond its band is cut at the band's edges. */
static void
test_clip (void)
{
  float mins[] = { -1e30f, -1e30f, -1e30f };
  float maxs[] = { 1e30f, 1e30f, 1e30f };
  ImpRasterTrace trace = { 0 };
  Canvas canvas;

  canvas_init (&canvas);
  trace.min = mins;
  trace.max = maxs;
  trace.n_columns = 3;
  trace.x0 = 10;
  trace.dx = 10;
  trace.offset = 32;
  trace.scale = 1;
  trace.line_width = 1;
  trace.clip_left = 15;
  trace.clip_right = 200;
  trace.clip_top = 20;
  trace.clip_bottom = 40;
  trace.color = 0xffffffff;
  imp_raster_draw_trace (&canvas.image, &trace);

  for (int px = 0; px < WIDTH; px++)
    for (int y = 0; y < HEIGHT; y++)
      {
        gboolean inside = px >= 15 && px <= 30 && y >= 20 && y < 40;

        g_assert_cmpuint (alpha_at (&canvas, px, y), ==, inside ? 255 : 0);
      }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/core/Raster/brute-force", test_brute_force);
  g_test_add_func ("/core/Raster/spike", test_spike);
  g_test_add_func ("/core/Raster/continuous", test_continuous);
  g_test_add_func ("/core/Raster/gaps", test_gaps);
  g_test_add_func ("/core/Raster/blend", test_blend);
  g_test_add_func ("/core/Raster/clip", test_clip);

  return g_test_run ();
}
