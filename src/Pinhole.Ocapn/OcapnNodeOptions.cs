using Microsoft.Extensions.Logging;

namespace Pinhole.Ocapn;

/// <summary>Options for <see cref="OcapnNode.LoadOrCreateAsync(string, OcapnNodeOptions?, CancellationToken)"/>.</summary>
public sealed class OcapnNodeOptions
{
    /// <summary>Key type used when a certificate has to be generated. Default <see cref="OcapnKeyAlgorithm.EcdsaP256"/>.</summary>
    public OcapnKeyAlgorithm KeyAlgorithm { get; init; } = OcapnKeyAlgorithm.EcdsaP256;

    /// <summary>Clock for certificate validity. Default <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>Logger for creation and load events. Default none.</summary>
    public ILogger? Logger { get; init; }
}
