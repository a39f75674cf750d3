using Microsoft.EntityFrameworkCore.Storage.ValueConversion;

namespace MedSeg.Data;

/// <summary>Stores a <see cref="DateTimeOffset"/> as UTC ticks (a sortable 64-bit integer on every provider).</summary>
public sealed class DateTimeOffsetTicksConverter() : ValueConverter<DateTimeOffset, long>(
    v => v.UtcTicks,
    v => new DateTimeOffset(v, TimeSpan.Zero));
