namespace Pinhole;

/// <summary>
/// The node's home directory: <c>$PINHOLE_HOME</c> if set, else <c>~/.pinhole</c>. It holds the identity key
/// (<c>identity.key</c>) and whatever state other layers persist.
/// </summary>
public static class PinholeHome
{
    /// <summary>The environment variable that overrides the default home.</summary>
    public const string EnvironmentVariable = "PINHOLE_HOME";

    /// <summary>File name of the node key inside the home.</summary>
    public const string IdentityFileName = "identity.key";

    /// <summary>Resolves the home: the explicit directory if given, else the environment variable, else <c>~/.pinhole</c>.</summary>
    public static string Resolve(string? explicitHome = null)
    {
        if (!string.IsNullOrWhiteSpace(explicitHome))
        {
            return Path.GetFullPath(explicitHome);
        }
        var fromEnvironment = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(fromEnvironment))
        {
            return Path.GetFullPath(fromEnvironment);
        }
        var profile = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        if (string.IsNullOrEmpty(profile))
        {
            throw new InvalidOperationException($"No home directory: set {EnvironmentVariable} or HOME.");
        }
        return Path.Combine(profile, ".pinhole");
    }

    /// <summary>Path of the identity key file in a home.</summary>
    public static string IdentityPath(string home) => Path.Combine(home, IdentityFileName);

    /// <summary>Loads the identity of the resolved home, creating it on first use.</summary>
    public static Task<NodeIdentity> LoadOrCreateIdentityAsync(string? explicitHome = null, CancellationToken cancellationToken = default)
        => NodeIdentity.LoadOrCreateAsync(IdentityPath(Resolve(explicitHome)), cancellationToken);

    /// <summary>Loads the identity of the resolved home, creating one of <paramref name="keyType"/> on first use.</summary>
    public static Task<NodeIdentity> LoadOrCreateIdentityAsync(string? explicitHome, Libp2pKeyType keyType, CancellationToken cancellationToken = default)
        => NodeIdentity.LoadOrCreateAsync(IdentityPath(Resolve(explicitHome)), keyType, cancellationToken);
}
