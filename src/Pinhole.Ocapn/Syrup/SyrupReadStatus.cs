namespace Pinhole.Ocapn.Syrup;

/// <summary>Outcome of <see cref="SyrupReader.TryRead(ReadOnlySpan{byte}, out SyrupValue?, out int, SyrupReaderOptions?)"/>.</summary>
public enum SyrupReadStatus
{
    /// <summary>A whole value was read.</summary>
    Complete,
    /// <summary>The buffer holds the start of a valid value but not all of it; read more and call again.</summary>
    NeedMoreData,
}
