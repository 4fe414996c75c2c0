/* imp-raster.c
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <math.h>
#include <string.h>

#include "imp-raster.h"

/* Each channel of premultiplied @pixel times @alpha / 255, rounded; two
 * channels at a time. */
static inline guint32
scale_pixel (guint32 pixel,
             guint   alpha)
{
  guint32 rb = (pixel & 0x00ff00ff) * alpha + 0x00800080;
  guint32 ag = ((pixel >> 8) & 0x00ff00ff) * alpha + 0x00800080;

  rb = ((rb + ((rb >> 8) & 0x00ff00ff)) >> 8) & 0x00ff00ff;
  ag = (ag + ((ag >> 8) & 0x00ff00ff)) & 0xff00ff00;

  return rb | ag;
}

/* @src over @dst, both premultiplied. */
static inline guint32
over (guint32 src,
      guint32 dst)
{
  return src + scale_pixel (dst, 255 - (src >> 24));
}

static inline guint
to_byte (double value)
{
  return (guint) (CLAMP (value, 0.0, 1.0) * 255 + 0.5);
}

/**
 * imp_raster_color:
 * @red: 0 to 1
 * @green: 0 to 1
 * @blue: 0 to 1
 * @alpha: 0 to 1
 *
 * Returns: the colour as a premultiplied pixel
 */
guint32
imp_raster_color (double red,
                  double green,
                  double blue,
                  double alpha)
{
  alpha = CLAMP (alpha, 0.0, 1.0);

  return (to_byte (alpha) << 24) | (to_byte (red * alpha) << 16) |
         (to_byte (green * alpha) << 8) | to_byte (blue * alpha);
}

/**
 * imp_raster_clear:
 * @image: an image
 * @color: a premultiplied pixel
 *
 * Sets every pixel to @color.
 */
void
imp_raster_clear (ImpRasterImage *image,
                  guint32         color)
{
  g_return_if_fail (image != NULL);

  if (image->height <= 0 || image->width <= 0)
    return;

  if (color == 0 && image->stride == image->width)
    {
      memset (image->pixels, 0,
              (gsize) image->width * image->height * sizeof (guint32));
      return;
    }

  for (int x = 0; x < image->width; x++)
    image->pixels[x] = color;
  for (int y = 1; y < image->height; y++)
    memcpy (image->pixels + (gsize) y * image->stride, image->pixels,
            image->width * sizeof (guint32));
}

/**
 * imp_raster_fill_rect:
 * @image: an image
 * @x: left
 * @y: top
 * @width: width
 * @height: height
 * @color: a premultiplied pixel
 *
 * Draws @color over the rectangle's pixels that are in the image.
 */
void
imp_raster_fill_rect (ImpRasterImage *image,
                      int             x,
                      int             y,
                      int             width,
                      int             height,
                      guint32         color)
{
  int left, right, top, bottom;

  g_return_if_fail (image != NULL);

  left = MAX (x, 0);
  top = MAX (y, 0);
  right = (int) MIN ((gint64) x + width, image->width);
  bottom = (int) MIN ((gint64) y + height, image->height);

  for (int row = top; row < bottom; row++)
    {
      guint32 *p = image->pixels + (gsize) row * image->stride;

      for (int col = left; col < right; col++)
        p[col] = over (color, p[col]);
    }
}

/* Per pixel column of the clip rectangle, the least and greatest y the
 * trace reaches within it. */
typedef struct
{
  int     left;
  int     right;
  double *top;
  double *bottom;
} Spans;

static inline void
spans_add (Spans  *spans,
           gint64  px,
           double  y0,
           double  y1)
{
  gsize i;

  if (px < spans->left || px >= spans->right)
    return;

  i = px - spans->left;
  spans->top[i] = MIN (spans->top[i], MIN (y0, y1));
  spans->bottom[i] = MAX (spans->bottom[i], MAX (y0, y1));
}

static inline gboolean
column_valid (const ImpRasterTrace *trace,
              gint64                c)
{
  float lo = trace->min[c];
  float hi = trace->max[c];

  return isfinite (lo) && isfinite (hi) && lo <= hi;
}

/* The pixels within [x, x + 1] of the point at @x: one, or two when it
 * lies on their common edge. */
static void
add_point (Spans  *spans,
           double  x,
           double  y0,
           double  y1)
{
  double px = floor (x);

  spans_add (spans, (gint64) px, y0, y1);
  if (px == x)
    spans_add (spans, (gint64) px - 1, y0, y1);
}

/* The segment from column @c to column @c + 1, at every pixel edge it
 * crosses: both pixels of an edge reach the segment's value there. With
 * the columns themselves (add_point), that is the whole segment: a linear
 * function's extremes over an interval are at its ends. */
static void
add_segment (Spans                *spans,
             const ImpRasterTrace *trace,
             double                xa,
             double                top_a,
             double                bottom_a,
             double                top_b,
             double                bottom_b)
{
  double xb = xa + trace->dx;
  double edge = MAX (floor (xa) + 1, spans->left);
  double end = MIN (xb, spans->right + 1.0);
  double top_slope = (top_b - top_a) / trace->dx;
  double bottom_slope = (bottom_b - bottom_a) / trace->dx;

  for (; edge < end; edge++)
    {
      double y0 = top_a + (edge - xa) * top_slope;
      double y1 = bottom_a + (edge - xa) * bottom_slope;

      spans_add (spans, (gint64) edge - 1, y0, y1);
      spans_add (spans, (gint64) edge, y0, y1);
    }
}

/* @color over the pixel at @p, which it covers wholly. */
static inline void
put_full (guint32 *p,
          guint32  color,
          gboolean opaque)
{
  *p = opaque || *p == 0 ? color : over (color, *p);
}

/* @color over the pixel at @p, which it covers by @cover of it. */
static inline void
put_part (guint32 *p,
          guint32  color,
          gboolean opaque,
          double   cover)
{
  guint alpha = to_byte (cover);
  guint32 src;

  if (alpha == 255)
    {
      put_full (p, color, opaque);
      return;
    }
  if (alpha == 0)
    return;

  src = scale_pixel (color, alpha);
  *p = *p == 0 ? src : over (src, *p);
}

/* Draws each pixel column's span, widened by half the line width at
 * either end, with the partly covered end pixels in proportion. */
static void
fill_spans (ImpRasterImage       *image,
            const ImpRasterTrace *trace,
            const Spans          *spans,
            int                   top,
            int                   bottom)
{
  double half = trace->line_width / 2;
  guint32 color = trace->color;
  gboolean opaque = (color >> 24) == 255;
  gsize stride = image->stride;

  for (int px = spans->left; px < spans->right; px++)
    {
      gsize i = px - spans->left;
      double y0 = MAX (spans->top[i] - half, top);
      double y1 = MIN (spans->bottom[i] + half, bottom);
      guint32 *p;
      int r0, r1;

      if (!(y0 < y1))
        continue;

      /* Both are within [top, bottom], so not negative. */
      r0 = (int) y0;
      r1 = (int) y1;
      r1 += r1 < y1;
      p = image->pixels + (gsize) r0 * stride + px;

      if (r1 - r0 == 1)
        {
          put_part (p, color, opaque, y1 - y0);
          continue;
        }

      put_part (p, color, opaque, r0 + 1 - y0);
      for (int r = r0 + 1; r < r1 - 1; r++)
        {
          p += stride;
          put_full (p, color, opaque);
        }
      put_part (p + stride, color, opaque, y1 - (r1 - 1));
    }
}

/**
 * imp_raster_draw_trace:
 * @image: the image to draw into
 * @trace: the columns and where they go
 *
 * Draws @trace over @image. Columns are joined to their neighbours: the
 * pixel columns between two columns reach the straight lines between
 * their maxima and between their minima, so that a trace of columns
 * wider than a pixel is a continuous line, and a trace of narrower ones
 * has no gaps between pixel columns. See #ImpRasterTrace.
 */
void
imp_raster_draw_trace (ImpRasterImage       *image,
                       const ImpRasterTrace *trace)
{
  g_autofree double *tops = NULL;
  g_autofree double *bottoms = NULL;
  Spans spans;
  int top, bottom;
  double first, last;

  g_return_if_fail (image != NULL && trace != NULL);
  g_return_if_fail (trace->dx > 0);
  g_return_if_fail (trace->n_columns == 0 ||
                    (trace->min != NULL && trace->max != NULL));

  spans.left = MAX (trace->clip_left, 0);
  spans.right = MIN (trace->clip_right, image->width);
  top = MAX (trace->clip_top, 0);
  bottom = MIN (trace->clip_bottom, image->height);
  if (spans.left >= spans.right || top >= bottom || trace->n_columns == 0)
    return;

  tops = g_new (double, spans.right - spans.left);
  bottoms = g_new (double, spans.right - spans.left);
  for (int i = 0; i < spans.right - spans.left; i++)
    {
      tops[i] = INFINITY;
      bottoms[i] = -INFINITY;
    }
  spans.top = tops;
  spans.bottom = bottoms;

  /* The columns whose points or segments can reach the clip rectangle. */
  first = floor ((spans.left - trace->x0) / trace->dx) - 1;
  last = ceil ((spans.right + 1 - trace->x0) / trace->dx) + 1;
  first = MAX (first, 0);
  last = MIN (last, trace->n_columns - 1.0);

  for (gint64 c = (gint64) first; c <= (gint64) last; c++)
    {
      double x = trace->x0 + c * trace->dx;
      double y_max, y_min;

      if (!column_valid (trace, c))
        continue;

      y_max = trace->offset - trace->max[c] * trace->scale;
      y_min = trace->offset - trace->min[c] * trace->scale;
      add_point (&spans, x, y_max, y_min);

      if (c + 1 < trace->n_columns && column_valid (trace, c + 1))
        add_segment (&spans, trace, x, y_max, y_min,
                     trace->offset - trace->max[c + 1] * trace->scale,
                     trace->offset - trace->min[c + 1] * trace->scale);
    }

  fill_spans (image, trace, &spans, top, bottom);
}
