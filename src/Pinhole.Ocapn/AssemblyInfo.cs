namespace Pinhole.Ocapn;
internal static class AssemblyMarker { }
